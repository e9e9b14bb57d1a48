// Human-readable numbers for the CLI's tables and progress lines.
#pragma once

#include <string>

namespace mova::cli {

std::string human_bytes(double bytes);    // "1.50 GiB"
std::string human_count(double n);        // "5.68B", "127.00M"
std::string human_duration(double secs);  // "0.84 s", "3m07s", "1h02m"

}  // namespace mova::cli
