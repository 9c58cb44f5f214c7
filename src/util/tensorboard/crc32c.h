// CRC-32C (Castagnoli), the checksum of TensorBoard's record framing (and of TFRecord files).
#pragma once

#include <cstdint>
#include <string_view>

namespace rsd::tensorboard {

/// CRC-32C of `data` (reflected polynomial 0x82F63B78, initial and final XOR 0xFFFFFFFF):
/// crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::string_view data);

/// The checksum as the framing stores it: rotated and offset, so that the CRC of data that
/// itself holds CRCs is not degenerate.
uint32_t masked_crc32c(std::string_view data);

}  // namespace rsd::tensorboard
