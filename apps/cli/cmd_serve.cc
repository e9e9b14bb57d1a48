// mova serve: the generator behind an HTTP API (apps/server, docs/server.md). The model is
// opened and its devices are set up once; requests queue and run one at a time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>

#include "api/open_device.h"
#include "commands.h"
#include "output_paths.h"
#include "placement.h"
#include "runtime/error.h"
#include "runtime/exec.h"
#include "runtime/log.h"
#include "server/api_key.h"
#include "server/generation_jobs.h"
#include "server/http_server.h"
#include "server/server_api.h"

namespace mova::cli {
namespace {

namespace fs = std::filesystem;

struct ServeOptions {
  std::string model, host = "127.0.0.1", output_dir, api_key_file;
  int port = 8080;
  PlacementOptions placement;
  int max_queue = 16, keep_jobs = 100, max_body_mib = 32;
};

std::atomic<server::HttpServer*> g_server{nullptr};
static_assert(std::atomic<server::HttpServer*>::is_always_lock_free,
              "the signal handler reads g_server");

// The first SIGINT or SIGTERM stops the server cleanly (the running job at its next step); a
// second one kills.
void on_stop_signal(int sig) {
  if (server::HttpServer* s = g_server.load()) s->stop();
  std::signal(sig, SIG_DFL);
}

// Routes SIGINT and SIGTERM to `server` while it lives.
class StopOnSignals {
 public:
  explicit StopOnSignals(server::HttpServer& server) {
    g_server = &server;
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
  }
  ~StopOnSignals() {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    g_server = nullptr;
  }
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;
};

// The folder results go to when --output-dir is not given: made here, removed at exit.
class TempFolder {
 public:
  TempFolder() {
    std::string pattern = (fs::temp_directory_path() / "mova-serve-XXXXXX").string();
    MOVA_CHECK(::mkdtemp(pattern.data()), ErrorKind::kIo, "cannot make a folder for results in ",
               fs::temp_directory_path().string(), " (give --output-dir)");
    path_ = pattern;
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The server's API key: --api-key-file, else $MOVA_API_KEY, else none (every request served).
std::optional<server::ApiKey> api_key(const ServeOptions& o) {
  if (!o.api_key_file.empty())
    return server::ApiKey(server::read_api_key_file(o.api_key_file),
                          "--api-key-file " + o.api_key_file);
  if (const char* env = std::getenv("MOVA_API_KEY")) return server::ApiKey(env, "$MOVA_API_KEY");
  return std::nullopt;
}

// Whether --host names this machine only: "localhost" or a loopback address (127.0.0.0/8,
// ::1, ::ffff:127.x). Any other name may resolve anywhere.
bool loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

void run_serve(const ServeOptions& o, const GlobalOptions& global) {
  const std::optional<server::ApiKey> key = api_key(o);
  if (!key && !loopback_host(o.host))
    MOVA_LOG_WARN("mova serve: listening on ", o.host,
                  " without an API key: anyone who reaches the port can generate, download and "
                  "delete jobs (--api-key-file or $MOVA_API_KEY)");
  const Placement where = o.placement.resolve();
  GenerateRequest base;  // what the server decides for every request
  base.device = where.device;
  base.text_device = where.text_device;
  base.vae_device = where.vae_device;
  base.precision = where.precision;
  base.device_weight_budget = static_cast<uint64_t>(where.device_weights_mib) << 20;
  if (!o.output_dir.empty()) make_output_folder(o.output_dir, "--output-dir");
  const std::string model_dir = o.model.empty() ? default_model() : o.model;
  const Generator generator(model_dir);

  const auto backends =
      open_devices({base.device, base.text_device, base.vae_device}, base.precision);
  Exec ex(global.threads);
  // Made after the model and devices, whose opening a Ctrl-C may still kill.
  std::unique_ptr<TempFolder> temp;
  if (o.output_dir.empty()) temp = std::make_unique<TempFolder>();
  const std::string output_dir = temp ? temp->path() : o.output_dir;
  server::GenerationJobs jobs(
      {output_dir, static_cast<size_t>(o.max_queue), static_cast<size_t>(o.keep_jobs)},
      [&](const GenerateRequest& r, const std::string& path, const ProgressFn& progress,
          const AbortFn& abort, std::vector<StageTime>& timings) {
        const GeneratedClip clip = generator.run(ex, r, progress, abort);
        timings = clip.timings;
        if (progress) progress({"mux", 0, 0, 0});
        write_clip_mp4(path, clip);
      });
  const server::ServerApi api(generator, jobs, base);
  server::HttpServer::Options http;
  http.host = o.host;
  http.port = o.port;
  http.limits.max_body_bytes = int64_t{o.max_body_mib} << 20;
  if (key) http.check_head = [&key](const server::HttpRequest& head) { key->check(head); };
  http.on_stop = [&jobs] {
    MOVA_LOG_INFO("mova serve: stopping (a running job stops at its next step)");
    jobs.stop();
  };
  server::HttpServer listener(http, [&api](const server::HttpRequest& r) { return api.handle(r); });
  const StopOnSignals stop_on_signals(listener);
  const bool v6 = o.host.find(':') != std::string::npos;
  // On stdout, always: scripts starting the server with --port 0 read the port from here.
  std::printf("mova serve: listening on http://%s%s%s:%d/\n", v6 ? "[" : "", o.host.c_str(),
              v6 ? "]" : "", listener.port());
  std::fflush(stdout);
  MOVA_LOG_INFO("mova serve: model ", model_dir, " on ", base.device.str(), "; results in ",
                output_dir, "; Ctrl-C stops");
  listener.serve();
  jobs.shutdown();
}

}  // namespace

void register_serve(CLI::App& app, GlobalOptions& global) {
  auto opt = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "serve generation over HTTP: POST /v1/generate, GET /v1/jobs/{id} (docs/server.md)");
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("-m,--model", opt->model,
                  "checkpoint folder (default: $MOVA_MODEL, else the bundled nano model)");
  cmd->add_option("--host", opt->host,
                  "address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: every "
                  "interface)");
  cmd->add_option("--api-key-file", opt->api_key_file,
                  "a file whose first line is the API key every request but GET /health must "
                  "send as 'Authorization: Bearer <key>' (default: $MOVA_API_KEY; neither: no "
                  "key asked)");
  cmd->add_option("--port", opt->port, "TCP port (default 8080; 0: any free one, printed)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--output-dir", opt->output_dir,
                  "where finished videos are kept (default: a temporary folder removed at exit)");
  cmd->add_option("--max-queue", opt->max_queue,
                  "jobs that may wait; more are refused with 503 (default 16)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--keep-jobs", opt->keep_jobs,
                  "finished jobs (and their videos) remembered; the oldest beyond are deleted "
                  "(default 100)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--max-body-mib", opt->max_body_mib,
                  "largest request body, the base64 first frame included (default 32)")
      ->check(CLI::Range(1, 4096));
  opt->placement.add_to(*cmd);
  cmd->callback([opt, &global] { run_serve(*opt, global); });
}

}  // namespace mova::cli
