#include <gtest/gtest.h>

#include "runtime/log.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  mova::set_log_level(mova::LogLevel::kWarn);
  return RUN_ALL_TESTS();
}
