#include "server/server_api.h"

#include <charconv>
#include <chrono>
#include <optional>
#include <set>

#include "io/base64.h"
#include "io/json_config.h"
#include "media/image_io.h"
#include "models/checkpoint_info.h"
#include "runtime/log.h"

namespace mova::server {
namespace {

using nlohmann::json;

const std::set<std::string, std::less<>> kFields = {
    "prompt", "negative_prompt", "image", "width", "height",
    "frames", "steps",           "fps",   "cfg",   "seed",
    "rng",    "vae_tiling",      "tags"};

std::string known_fields() {
  std::string s;
  for (const std::string& f : kFields) s += (s.empty() ? "" : ", ") + f;
  return s;
}

// A first frame sent as base64, bare or as a data URL ("data:image/png;base64,...").
RgbImage decode_posted_image(const std::string& text) {
  std::string_view b64 = text;
  if (b64.substr(0, 5) == "data:") {
    const size_t comma = b64.find(',');
    MOVA_CHECK(comma != std::string_view::npos &&
                   b64.substr(0, comma).find(";base64") != std::string_view::npos,
               ErrorKind::kFormat,
               "field 'image': a data URL must be base64 (data:...;base64,...)");
    b64.remove_prefix(comma + 1);
  }
  const std::string bytes = base64_decode(b64, "field 'image'");
  return decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                      "field 'image'");
}

HttpResponse json_response(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  return r;
}

int status_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
    case ErrorKind::kFormat:
    case ErrorKind::kShape:
    case ErrorKind::kUnsupported:
      return 400;
    case ErrorKind::kOutOfMemory:
      return 503;
    default:
      return 500;
  }
}

// The longest a GET /v1/jobs/{id}?wait=S holds its connection (and one of the server's threads).
constexpr double kMaxWaitSeconds = 60;

// What ?wait=S&after=R ask of GET /v1/jobs/{id}; throws HttpError 400 naming the parameter.
struct JobWait {
  std::optional<double> seconds;
  std::optional<uint64_t> after;
};

JobWait job_wait(const HttpRequest& request) {
  JobWait w;
  for (const auto& [name, value] : query_parameters(request)) {
    const auto bad = [&name = name, &value = value](const char* what) {
      throw HttpError(
          400, str_cat("query parameter '", name, "' must be ", what, ", got '", value, "'"));
    };
    const char* end = value.data() + value.size();
    if (name == "wait") {
      double s = -1;
      const auto [ptr, ec] = std::from_chars(value.data(), end, s);
      if (ec != std::errc() || ptr != end || !(s >= 0 && s <= kMaxWaitSeconds))
        bad("a number of seconds in [0, 60]");
      w.seconds = s;
    } else if (name == "after") {
      uint64_t r = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), end, r);
      if (ec != std::errc() || ptr != end || value.empty())
        bad("a job revision (an unsigned integer)");
      w.after = r;
    } else {
      throw HttpError(400, "unknown query parameter '" + name + "' (known here: wait, after)");
    }
  }
  if (w.after && !w.seconds)
    throw HttpError(400, "query parameter 'after' needs 'wait' (how long to wait for a change)");
  return w;
}

HttpResponse method_not_allowed(const char* allow) {
  HttpResponse r = error_response(405, std::string("allowed here: ") + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

}  // namespace

GenerateRequest request_from_json(std::string_view body, GenerateRequest r) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    fail(ErrorKind::kInvalidArgument, "the request body is not JSON: ", e.what());
  }
  MOVA_CHECK(j.is_object(), ErrorKind::kInvalidArgument,
             "the request body must be a JSON object, e.g. {\"prompt\": \"...\"}");
  MOVA_CHECK(j.contains("prompt"), ErrorKind::kInvalidArgument, "field 'prompt' is required");
  for (const auto& [field, value] : j.items())
    MOVA_CHECK(kFields.count(field), ErrorKind::kInvalidArgument, "unknown field '", field,
               "' (known: ", known_fields(), ")");
  const JsonConfig body_fields(std::move(j), "request body");
  const auto positive_int = [&](const std::string& field) {
    const nlohmann::json& v = body_fields.json()[field];
    if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (1 << 30))
      body_fields.type_error(field, "a positive integer");
    return v.get<int64_t>();
  };
  for (const auto& [field, value] : body_fields.json().items()) {
    if (field == "prompt") r.prompt = body_fields.get_string(field);
    if (field == "negative_prompt") r.negative_prompt = body_fields.get_string(field);
    if (field == "image") r.image = decode_posted_image(body_fields.get_string(field));
    if (field == "width") r.width = positive_int(field);
    if (field == "height") r.height = positive_int(field);
    if (field == "frames") r.frames = positive_int(field);
    if (field == "steps") r.steps = positive_int(field);
    if (field == "fps") {
      r.fps = body_fields.get_double(field);
      if (!(r.fps > 0)) body_fields.type_error(field, "a positive number");
    }
    if (field == "cfg") r.cfg = body_fields.get_double(field);
    if (field == "seed") {
      if (!value.is_number_unsigned()) body_fields.type_error(field, "an integer in [0, 2^64)");
      r.seed = value.get<uint64_t>();
    }
    if (field == "rng") r.rng = parse_noise_rng(body_fields.get_string(field), "field 'rng'");
    if (field == "vae_tiling") r.vae_tiling = body_fields.get_bool(field);
    if (field == "tags") r.tags = body_fields.get_bool(field);
  }
  return r;
}

json job_json(const JobView& v) {
  json j = {{"id", v.id},
            {"status", job_state_name(v.state)},
            {"created", v.created},
            {"prompt", v.prompt},
            {"settings", v.settings},
            {"seconds", v.seconds},
            {"revision", v.revision}};
  if (v.state == JobState::kQueued) j["queue_position"] = v.queue_position;
  if (!v.stage.empty()) j["stage"] = v.stage;
  j["step"] = v.step;
  j["steps"] = v.steps;
  if (v.cancel_requested && v.state == JobState::kRunning) j["cancel_requested"] = true;
  if (!v.error.empty()) {
    j["error"] = v.error;
    j["error_kind"] = error_kind_name(v.error_kind);
  }
  if (!v.timings.empty()) {
    json t = json::array();
    for (const StageTime& s : v.timings) {
      json stage = {{"stage", s.name}, {"seconds", s.seconds}};
      if (s.device_peak_bytes >= 0) stage["device_peak_bytes"] = s.device_peak_bytes;
      t.push_back(stage);
    }
    j["timings"] = t;
  }
  if (v.state == JobState::kDone) j["video"] = "/v1/jobs/" + v.id + "/video";
  return j;
}

ServerApi::ServerApi(const Generator& generator, GenerationJobs& jobs, GenerateRequest base)
    : generator_(generator), jobs_(jobs), base_(std::move(base)), model_(describe_model()) {}

HttpResponse ServerApi::handle(const HttpRequest& request) const {
  const std::string& p = request.path;
  const bool get = request.method == "GET";
  if (p == "/" || p == "/health" || p == "/v1/model" || p == "/v1/jobs") {
    if (!get) return method_not_allowed("GET");
    if (p == "/v1/model") return json_response(200, model_);
    if (p == "/v1/jobs") {
      json list = json::array();
      for (const JobView& v : jobs_.list()) list.push_back(job_json(v));
      return json_response(200, {{"jobs", list}});
    }
    if (p == "/health")
      return json_response(
          200, {{"status", "ok"}, {"running", jobs_.busy()}, {"queued", jobs_.queued()}});
    return json_response(200, {{"name", "mova.cpp"},
                               {"endpoints",
                                {"GET /health", "GET /v1/model", "POST /v1/generate",
                                 "GET /v1/jobs", "GET /v1/jobs/{id}[?wait=S&after=R]",
                                 "GET /v1/jobs/{id}/video", "DELETE /v1/jobs/{id}"}},
                               {"docs", "docs/server.md"}});
  }
  if (p == "/v1/generate") {
    if (request.method != "POST") return method_not_allowed("POST");
    return generate(request);
  }
  constexpr std::string_view kJobs = "/v1/jobs/";
  if (p.compare(0, kJobs.size(), kJobs) == 0) {
    std::string id = p.substr(kJobs.size());
    bool video = false;
    if (const size_t slash = id.find('/'); slash != std::string::npos) {
      if (id.substr(slash) != "/video") return error_response(404, "no such resource: " + p);
      id.resize(slash);
      video = true;
    }
    if (video && !get) return method_not_allowed("GET");
    if (!video && !get && request.method != "DELETE") return method_not_allowed("GET, DELETE");
    return job(request, id, video);
  }
  return error_response(404, "no such resource: " + p + " (GET / lists the endpoints)");
}

HttpResponse ServerApi::generate(const HttpRequest& request) const {
  GenerateRequest r;
  std::string settings;
  try {
    r = generator_.resolve(request_from_json(request.body, base_),
                           Generator::SettingNames::kJsonFields);
    settings = generation_settings(r, generator_.checkpoint().dir());
  } catch (const Error& e) {
    return error_response(status_for(e.kind()), e.what());
  }
  const std::optional<JobView> v = jobs_.submit(std::move(r), std::move(settings));
  if (!v) return error_response(503, "the queue is full (mova serve --max-queue); try again later");
  MOVA_LOG_INFO("mova serve: job ", v->id, " queued at position ", v->queue_position);
  HttpResponse response = json_response(202, job_json(*v));
  response.headers.emplace_back("Location", "/v1/jobs/" + v->id);
  return response;
}

HttpResponse ServerApi::job(const HttpRequest& request, const std::string& id, bool video) const {
  JobWait wait;
  if (!video && request.method == "GET") {
    try {
      wait = job_wait(request);
    } catch (const HttpError& e) {
      return error_response(e.status(), e.what());
    }
  }
  std::optional<JobView> v =
      request.method == "DELETE" ? jobs_.cancel_or_forget(id) : jobs_.find(id);
  if (!v) return error_response(404, "no job " + id);
  if (wait.seconds) {
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(*wait.seconds * 1000));
    v = jobs_.wait_for_change(id, wait.after.value_or(v->revision), timeout);
    if (!v) return error_response(404, "job " + id + " was forgotten while waited for");
  }
  if (!video) return json_response(200, job_json(*v));
  if (v->state != JobState::kDone)
    return error_response(409, std::string("job ") + id + " is " + job_state_name(v->state) +
                                   (v->state == JobState::kFailed ? ": " + v->error : ""));
  HttpResponse r;
  r.content_type = "video/mp4";
  r.file_path = v->video_path;
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + id + ".mp4\"");
  return r;
}

json ServerApi::describe_model() const {
  json j = describe_checkpoint(generator_.checkpoint());
  try {
    GenerateRequest probe = base_;
    probe.prompt = "-";
    const GenerateRequest d = generator_.resolve(probe);
    j["defaults"] = {{"width", d.width}, {"height", d.height}, {"frames", d.frames},
                     {"steps", d.steps}, {"fps", d.fps},       {"cfg", *d.cfg}};
  } catch (const Error& e) {
    j["defaults_error"] = e.what();
  }
  return j;
}

}  // namespace mova::server
