// The libtorch headers most units of librsd, its apps and its tests include, precompiled once.
#pragma once
#include <torch/torch.h>
