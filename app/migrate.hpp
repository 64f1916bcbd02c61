#pragma once
// `dutydesk migrate [--check]`: brings the configured store's schema up to the binary's, or reports what is pending.

#include <ostream>

#include "config/config.hpp"

namespace dutydesk::app {

/// Applies pending migrations (check_only false) or lists them (true). Returns a config::exit_code value:
/// ok, migrations_pending (check only) or storage_error.
int migrate(const config::config& cfg, bool check_only, std::ostream& out, std::ostream& err);

} // namespace dutydesk::app
