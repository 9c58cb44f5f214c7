// Empty unit: the target exists only to build the precompiled header in torch_pch.h.
