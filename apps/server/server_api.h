// The HTTP API of `mova serve` (docs/server.md): JSON requests and answers, routed to the
// generator and the job queue.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "pipeline/generate.h"
#include "server/generation_jobs.h"
#include "server/http_message.h"

namespace mova::server {

// The request a POST /v1/generate body asks for, on top of `base` (the server's devices and
// precision, which a request does not choose). Unknown fields and wrong types are kInvalidArgument
// errors naming the field; an image that is not base64 PNG or JPEG is a kFormat error. Values
// are checked later, by Generator::resolve.
GenerateRequest request_from_json(std::string_view body, GenerateRequest base);

nlohmann::json job_json(const JobView& job);

class ServerApi {
 public:
  ServerApi(const Generator& generator, GenerationJobs& jobs, GenerateRequest base);
  HttpResponse handle(const HttpRequest& request) const;

 private:
  HttpResponse generate(const HttpRequest& request) const;
  HttpResponse job(const HttpRequest& request, const std::string& id, bool video) const;
  // What GET /v1/model answers: `mova info --json` of the model and its resolved defaults,
  // read once (the headers of every shard) since the model does not change while served.
  nlohmann::json describe_model() const;

  const Generator& generator_;
  GenerationJobs& jobs_;
  GenerateRequest base_;
  nlohmann::json model_;
};

}  // namespace mova::server
