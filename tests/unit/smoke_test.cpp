#include <gtest/gtest.h>

#include "core/errors.hpp"

TEST(Errors, StatusFromRegistry) { EXPECT_EQ(baton::http_status(baton::ErrorCode::model_not_found), 404U); }
