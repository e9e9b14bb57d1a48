// The JSON API of `mova serve` (apps/server/server_api.h): request bodies into generation
// requests, and each route's answer, on the bundled nano model with a stand-in generation.
#include "server/server_api.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "media/image_io.h"
#include "test_util.h"

namespace mova::server {
namespace {

using nlohmann::json;

const std::string kNano = std::string(MOVA_SOURCE_DIR) + "/models/nano";

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A 3x2 PNG, as bytes, whose pixels are known.
std::string small_png(const test::TempDir& dir) {
  RgbImage img(3, 2);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 10);
  write_png(dir.file("f.png"), img);
  return read_bytes(dir.file("f.png"));
}

TEST(ServerApi, JsonBodiesBecomeGenerateRequests) {
  test::TempDir dir;
  GenerateRequest base;
  base.device_weight_budget = 123;
  const std::string png = small_png(dir);
  const GenerateRequest r = request_from_json(json{{"prompt", "a drum"},
                                                   {"negative_prompt", "blur"},
                                                   {"width", 64},
                                                   {"height", 48},
                                                   {"frames", 9},
                                                   {"steps", 3},
                                                   {"fps", 12.5},
                                                   {"cfg", 1},
                                                   {"seed", 18446744073709551615u},
                                                   {"rng", "torch-cuda:108"},
                                                   {"vae_tiling", true},
                                                   {"tags", false},
                                                   {"image", test::base64_encode(png)}}
                                                  .dump(),
                                              base);
  EXPECT_EQ(r.prompt, "a drum");
  EXPECT_EQ(r.negative_prompt, std::optional<std::string>("blur"));
  EXPECT_EQ(r.width, 64);
  EXPECT_EQ(r.height, 48);
  EXPECT_EQ(r.frames, 9);
  EXPECT_EQ(r.steps, 3);
  EXPECT_EQ(r.fps, 12.5);
  EXPECT_EQ(r.cfg, std::optional<double>(1.0));
  EXPECT_EQ(r.seed, 18446744073709551615u);
  EXPECT_EQ(noise_rng_name(r.rng), "torch-cuda:108:2048");
  EXPECT_TRUE(r.vae_tiling);
  EXPECT_FALSE(r.tags);
  EXPECT_EQ(r.device_weight_budget, 123u);  // the server's, untouched
  ASSERT_TRUE(r.image);
  EXPECT_EQ(r.image->width, 3);
  EXPECT_EQ(r.image->pixels[17], 170);

  // Unset fields stay unset for Generator::resolve; a data URL is taken, unpadded too.
  const GenerateRequest d = request_from_json(
      json{{"prompt", "x"}, {"image", "data:image/png;base64," + test::base64_encode(png, false)}}
          .dump(),
      base);
  EXPECT_EQ(d.width, 0);
  EXPECT_EQ(d.steps, 0);
  EXPECT_FALSE(d.cfg);
  EXPECT_FALSE(d.negative_prompt);
  EXPECT_EQ(d.seed, 42u);
  EXPECT_EQ(noise_rng_name(d.rng), "torch-cuda:132:2048");
  EXPECT_TRUE(d.tags);
  ASSERT_TRUE(d.image);
  EXPECT_EQ(d.image->pixels, r.image->pixels);
}

TEST(ServerApi, BadBodiesNameTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "not JSON"},
      {"{\"prompt\": ", "not JSON"},
      {"[1]", "must be a JSON object"},
      {"{}", "field 'prompt' is required"},
      {R"({"prompt": "x", "frame": 5})", "unknown field 'frame' (known: cfg, fps, frames"},
      {R"({"prompt": 5})", "field 'prompt' must be a string"},
      {R"({"prompt": "x", "width": "64"})", "field 'width' must be a positive integer"},
      {R"({"prompt": "x", "steps": 2.5})", "field 'steps' must be a positive integer"},
      {R"({"prompt": "x", "frames": 0})", "field 'frames' must be a positive integer"},
      {R"({"prompt": "x", "height": 4294967296})", "field 'height' must be a positive integer"},
      {R"({"prompt": "x", "seed": -1})", "field 'seed' must be an integer in [0, 2^64)"},
      {R"({"prompt": "x", "seed": 1.5})", "field 'seed' must be an integer"},
      {R"({"prompt": "x", "cfg": "5"})", "field 'cfg' must be a number"},
      {R"({"prompt": "x", "rng": "philox"})", "field 'rng': unknown noise generator 'philox'"},
      {R"({"prompt": "x", "rng": 1})", "field 'rng' must be a string"},
      {R"({"prompt": "x", "fps": 0})", "field 'fps' must be a positive number"},
      {R"({"prompt": "x", "tags": 1})", "field 'tags' must be true or false"},
      {R"({"prompt": "x", "image": 7})", "field 'image' must be a string"},
      {R"({"prompt": "x", "image": "@@@@"})", "field 'image': invalid base64"},
      {R"({"prompt": "x", "image": "aGVsbG8="})", "field 'image'"},
      {R"({"prompt": "x", "image": "data:image/png,abc"})", "a data URL must be base64"},
  };
  for (const auto& [body, message] : cases) {
    try {
      request_from_json(body, {});
      ADD_FAILURE() << "accepted " << body;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos)
          << body << " -> " << e.what();
    }
  }
}

HttpRequest call(const std::string& method, const std::string& path, const std::string& body = "") {
  HttpRequest r;
  r.method = method;
  r.target = path;
  r.path = path.substr(0, path.find('?'));
  r.body = body;
  r.content_length = static_cast<int64_t>(body.size());
  return r;
}

json body_of(const HttpResponse& r) {
  return json::parse(r.body);
}

TEST(ServerApi, RoutesQueueJobsAndServeTheirVideos) {
  test::TempDir dir;
  const Generator generator(kNano);
  std::atomic<int> runs{0};
  GenerationJobs jobs({dir.str(), 16, 100},
                      [&](const GenerateRequest& r, const std::string& path, const ProgressFn&,
                          const AbortFn&, std::vector<StageTime>&) {
                        ++runs;
                        std::ofstream(path) << r.width << "x" << r.height << " " << r.steps;
                      });
  const ServerApi api(generator, jobs, GenerateRequest{});

  const HttpResponse posted =
      api.handle(call("POST", "/v1/generate", R"({"prompt": "hi", "steps": 3})"));
  ASSERT_EQ(posted.status, 202) << posted.body;
  const json job = body_of(posted);
  const std::string id = job["id"];
  ASSERT_EQ(posted.headers.size(), 1u);
  EXPECT_EQ(posted.headers[0], (std::pair<std::string, std::string>{"Location", "/v1/jobs/" + id}));
  EXPECT_EQ(job["settings"],
            "mova.cpp: model nano, seed 42 (rng torch-cuda:132:2048), 3 steps, cfg 5, 64x64, 49 "
            "frames at 24 fps, text only");
  EXPECT_EQ(job["steps"], 3);

  json state;
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
       std::chrono::steady_clock::now() < end;) {
    state = body_of(api.handle(call("GET", "/v1/jobs/" + id)));
    if (state["status"] == "done") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(state["status"], "done") << state.dump();
  EXPECT_EQ(state["video"], "/v1/jobs/" + id + "/video");
  const HttpResponse video = api.handle(call("GET", "/v1/jobs/" + id + "/video"));
  EXPECT_EQ(video.status, 200);
  EXPECT_EQ(video.content_type, "video/mp4");
  EXPECT_EQ(read_bytes(video.file_path), "64x64 3");  // the model's defaults filled in

  const json list = body_of(api.handle(call("GET", "/v1/jobs")));
  ASSERT_EQ(list["jobs"].size(), 1u);
  EXPECT_EQ(list["jobs"][0]["id"], id);
  const json health = body_of(api.handle(call("GET", "/health")));
  EXPECT_EQ(health["status"], "ok");
  EXPECT_EQ(health["queued"], 0);
  const json model = body_of(api.handle(call("GET", "/v1/model")));
  EXPECT_EQ(model["defaults"]["frames"], 49);
  EXPECT_EQ(model["defaults"]["steps"], 40);
  EXPECT_FALSE(body_of(api.handle(call("GET", "/")))["endpoints"].empty());

  // Values are checked before anything is queued, naming the field.
  const HttpResponse bad =
      api.handle(call("POST", "/v1/generate", R"({"prompt": "hi", "frames": 4})"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(body_of(bad)["error"].get<std::string>().find("field 'frames' (4): must be 4k+1"),
            std::string::npos);
  EXPECT_EQ(api.handle(call("POST", "/v1/generate", "{}")).status, 400);
  const HttpResponse long_negative =
      api.handle(call("POST", "/v1/generate",
                      json{{"prompt", "hi"}, {"negative_prompt", std::string(70000, 'x')}}.dump()));
  EXPECT_EQ(long_negative.status, 400);
  EXPECT_NE(body_of(long_negative)["error"].get<std::string>().find(
                "field 'negative_prompt': 70000 bytes, at most 65536 are taken"),
            std::string::npos)
      << long_negative.body;
  EXPECT_EQ(runs.load(), 1);

  const HttpResponse forgotten = api.handle(call("DELETE", "/v1/jobs/" + id));
  EXPECT_EQ(forgotten.status, 200);
  EXPECT_EQ(body_of(forgotten)["status"], "done");
  EXPECT_EQ(api.handle(call("GET", "/v1/jobs/" + id)).status, 404);
  EXPECT_EQ(api.handle(call("GET", "/v1/jobs/" + id + "/video")).status, 404);
}

TEST(ServerApi, AJobWaitedForIsAnsweredAtItsNextChange) {
  test::TempDir dir;
  const Generator generator(kNano);
  std::atomic<int> go{0};  // how far the test lets the stand-in generation go
  const auto until = [&](int n, const AbortFn& abort) {
    while (go.load() < n && !abort()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  GenerationJobs jobs({dir.str(), 16, 100}, [&](const GenerateRequest&, const std::string& path,
                                                const ProgressFn& progress, const AbortFn& abort,
                                                std::vector<StageTime>&) {
    progress({"denoise", 1, 3, 0.0});
    until(1, abort);
    progress({"denoise", 2, 3, 0.0});
    until(2, abort);
    std::ofstream(path) << "mp4";
  });
  const ServerApi api(generator, jobs, GenerateRequest{});
  const json posted = body_of(api.handle(call("POST", "/v1/generate", R"({"prompt": "hi"})")));
  const std::string job = "/v1/jobs/" + posted["id"].get<std::string>();
  ASSERT_TRUE(posted.contains("revision"));

  for (const auto& [query, message] : std::vector<std::pair<std::string, std::string>>{
           {"?wait=abc", "'wait' must be a number of seconds in [0, 60], got 'abc'"},
           {"?wait=61", "'wait' must be"},
           {"?wait=-1", "'wait' must be"},
           {"?wait=1&after=-1", "'after' must be a job revision"},
           {"?wait=1&after=", "'after' must be"},
           {"?wiat=1", "unknown query parameter 'wiat' (known here: wait, after)"},
           {"?wait=1&wait=2", "'wait' given twice"},
           {"?after=3", "'after' needs 'wait'"},
           {"?wait=%zz", "malformed %-escape"}}) {
    const HttpResponse r = api.handle(call("GET", job + query));
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_NE(body_of(r)["error"].get<std::string>().find(message), std::string::npos)
        << query << " -> " << r.body;
  }

  // Long-poll from the posted revision until the first step has been reported.
  json seen = posted;
  for (int i = 0; i < 100 && seen["step"] != 1; ++i)
    seen = body_of(api.handle(
        call("GET", job + "?wait=20&after=" + std::to_string(seen["revision"].get<uint64_t>()))));
  ASSERT_EQ(seen["step"], 1) << seen.dump();
  ASSERT_EQ(seen["status"], "running");

  // Nothing changes: the same view once the wait is over (%-escapes are decoded).
  const json same = body_of(api.handle(call("GET", job + "?wait=0%2E05")));
  EXPECT_EQ(same["revision"], seen["revision"]);

  // The next step answers a waiting client at once.
  const std::string after = "&after=" + std::to_string(seen["revision"].get<uint64_t>());
  auto next = std::async(std::launch::async,
                         [&] { return api.handle(call("GET", job + "?wait=20" + after)); });
  EXPECT_EQ(next.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  go = 1;
  ASSERT_EQ(next.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const json stepped = body_of(next.get());
  EXPECT_EQ(stepped["step"], 2);
  EXPECT_GT(stepped["revision"].get<uint64_t>(), seen["revision"].get<uint64_t>());

  go = 2;
  json last = stepped;
  for (int i = 0; i < 100 && last["status"] != "done"; ++i)
    last = body_of(api.handle(call(
        "GET", job + "?after=" + std::to_string(last["revision"].get<uint64_t>()) + "&wait=20")));
  EXPECT_EQ(last["status"], "done");
  // A finished job answers at once, whatever revision is asked for.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(body_of(api.handle(call("GET", job + "?wait=60&after=99999999")))["status"], "done");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
}

TEST(ServerApi, UnknownPathsAndWrongMethodsAreRefused) {
  test::TempDir dir;
  const Generator generator(kNano);
  GenerationJobs jobs({dir.str(), 16, 100},
                      [](const GenerateRequest&, const std::string&, const ProgressFn&,
                         const AbortFn& abort, std::vector<StageTime>&) {
                        while (!abort()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                        fail(ErrorKind::kAborted, "generation aborted by the caller");
                      });
  const ServerApi api(generator, jobs, GenerateRequest{});
  const std::tuple<std::string, std::string, int, std::string> cases[] = {
      {"GET", "/nope", 404, ""},
      {"GET", "/v1/jobs/abc/frames", 404, ""},
      {"GET", "/v1/jobs/abc", 404, ""},
      {"DELETE", "/v1/jobs/abc", 404, ""},
      {"GET", "/v1/generate", 405, "POST"},
      {"POST", "/health", 405, "GET"},
      {"POST", "/v1/jobs", 405, "GET"},
      {"PUT", "/v1/jobs/abc", 405, "GET, DELETE"},
      {"DELETE", "/v1/jobs/abc/video", 405, "GET"},
  };
  for (const auto& [method, path, status, allow] : cases) {
    const HttpResponse r = api.handle(call(method, path));
    EXPECT_EQ(r.status, status) << method << " " << path;
    EXPECT_TRUE(body_of(r).contains("error"));
    if (!allow.empty()) {
      ASSERT_EQ(r.headers.size(), 1u);
      EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Allow", allow}));
    }
  }
  // A job that has not finished has no video yet: 409 says what it is.
  const std::string id =
      body_of(api.handle(call("POST", "/v1/generate", R"({"prompt": "x"})")))["id"];
  const HttpResponse early = api.handle(call("GET", "/v1/jobs/" + id + "/video"));
  EXPECT_EQ(early.status, 409);
  EXPECT_TRUE(early.body.find("is queued") != std::string::npos ||
              early.body.find("is running") != std::string::npos)
      << early.body;
  jobs.cancel_or_forget(id);
}

}  // namespace
}  // namespace mova::server
