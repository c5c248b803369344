// The "mous" read model: which MOUs exist and which organisations are
// parties to each, so that compliance can be asked per provider.
//
// Keys: m/<mou id> -> ""; p/<organisation id>/<mou id> -> "" for every
// organisation ever named a party (amendments may drop some; compliance
// folds each MOU and counts only its current datasets).
#ifndef NCM_MOUS_READ_MODEL_H_
#define NCM_MOUS_READ_MODEL_H_

#include <memory>

#include "ncm/readside/projection.h"

namespace ncm::mous {

inline constexpr char kMousModel[] = "mous";

std::unique_ptr<readside::Projection> NewMousProjection();

}  // namespace ncm::mous

#endif  // NCM_MOUS_READ_MODEL_H_
