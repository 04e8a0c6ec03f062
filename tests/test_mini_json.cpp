#include <gtest/gtest.h>

#include "tests/mini_json.hpp"

TEST(MiniJson, ParsesNestedValues) {
    auto v = minijson::parse(R"({"a": [1, -2.5e3, true, null], "b": {"s": "x\"y\\n\u00e9"}, "c": false})");
    EXPECT_EQ(v["a"].array.size(), 4u);
    EXPECT_DOUBLE_EQ(v["a"].array[1].number, -2500.0);
    EXPECT_TRUE(v["a"].array[2].boolean);
    EXPECT_EQ(v["a"].array[3].type, minijson::Value::Type::Null);
    EXPECT_EQ(v["b"]["s"].string, "x\"y\\n\xc3\xa9");
    EXPECT_FALSE(v["c"].boolean);
    EXPECT_FALSE(v.has("d"));
}

TEST(MiniJson, RejectsMalformedInput) {
    EXPECT_THROW(minijson::parse("{\"a\": }"), std::runtime_error);
    EXPECT_THROW(minijson::parse("[1, 2"), std::runtime_error);
    EXPECT_THROW(minijson::parse("{} x"), std::runtime_error);
    EXPECT_THROW(minijson::parse("\"abc"), std::runtime_error);
}
