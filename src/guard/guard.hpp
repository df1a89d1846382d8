// Umbrella header for the sovereignty guard's PII detector.
#pragma once

#include "guard/jsonl.hpp"
#include "guard/pii_type.hpp"
#include "guard/redaction.hpp"
#include "guard/scanner.hpp"
