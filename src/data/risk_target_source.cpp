#include "rsd/data/risk_target_source.h"

namespace rsd::data {

// Out of line so that the vtable and type info live in librsd, not in every user.
RiskTargetSource::~RiskTargetSource() = default;

}  // namespace rsd::data
