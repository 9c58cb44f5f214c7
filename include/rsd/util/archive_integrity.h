// The integrity of a zip archive (a libtorch checkpoint, a torch.save file) before libtorch reads
// it. libtorch 1.13's reader checks no CRC-32: a damaged byte reaches its unpickler and TorchScript
// importer, which may crash or allocate sizes read from the damage, or it silently becomes a wrong
// weight. A damaged file is caught here; a crafted archive with consistent CRCs is not.
#pragma once

#include <string>
#include <string_view>

namespace rsd {

/// Checks that `bytes` is one whole zip archive: the end-of-central-directory record (ZIP64 too),
/// every central-directory entry, its local header (same name), that entries lie inside the file
/// without overlapping, and each entry's CRC-32 and size (stored entries; deflated ones are
/// inflated). Throws rsd::CheckpointError "<name>: ..." naming the entry and what is wrong.
/// Allocates nothing sized by the archive's fields.
void verify_zip_archive(std::string_view bytes, const std::string& name);

/// The same check over the file `path` (read once, front to back, in bounded chunks); the
/// errors start with `path`.
void verify_zip_file(const std::string& path);

/// Whether `bytes` starts like a zip archive (a local file header), e.g. to tell a torch.save zip
/// from a legacy pickle before checking it.
bool looks_like_zip(std::string_view bytes);

}  // namespace rsd
