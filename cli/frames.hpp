// Rotation series (-nframes): per-frame file names, orientation and noise
// seed, and the split of frames across MPI ranks.
#pragma once

#include <cstdint>
#include <string>

namespace nb {

// The name of frame `number` (1-based) from a printf-style pattern
// ("sweep_%04d.img"). Unless `numbered`, a name without a '%' conversion is
// kept as given; a numbered run (numbered_outputs) gives it "_%04d" before its
// extension, unless it names a stream (is_stream_target: /dev/null). Throws std::runtime_error (naming `flag`) for a
// pattern that is not one integer conversion.
std::string frame_file_name(const std::string& pattern, int number, bool numbered, const std::string& flag);

// Whether a run's outputs carry frame numbers: a series of several frames, or
// any shot list (one of a single line too, so that a script's names do not
// depend on the length of its list).
inline bool numbered_outputs(int nframes, bool shot_list) { return nframes > 1 || shot_list; }

// Noise seed rule: frame n of a series uses seed S + (n - 1), where S is the
// -seed value, so "-phi <phi0 + (n-1)*osc> -seed <S + n - 1>" renders frame n
// alone, byte for byte. Seeds are stored negated, as C stores them.
inline int64_t frame_seed(int64_t stored_seed, int index) { return stored_seed - index; }

}  // namespace nb
