#!/usr/bin/env python3
"""Writes torch_save_dict.pt: a file laid out as Python's torch.save (torch 2.x, zip format) writes
the dict of docs/model.md's conversion snippet, without needing torch.

Used by test_model.cpp to check that librsd reads what users convert from torchvision. The file is
committed; run this only to regenerate it: python3 make_torch_save_dict.py torch_save_dict.pt

Layout reproduced: pickle protocol 2 of a plain dict {name: tensor}; every tensor reduced to
torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict()); each
storage a persistent id ('storage', torch.<Type>Storage, key, 'cpu', numel) whose bytes are the
record <archive>/data/<key> (little endian); plus the version, byteorder, .format_version,
.storage_alignment and .data/serialization_id records of recent torch versions.
"""
import collections, io, pickle, struct, sys, types, zipfile

torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")


def _rebuild_tensor_v2(*args):
    raise NotImplementedError


_rebuild_tensor_v2.__module__ = "torch._utils"
_rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class FloatStorage:
    pass


class LongStorage:
    pass


for storage_class in (FloatStorage, LongStorage):
    storage_class.__module__ = "torch"
    setattr(torch, storage_class.__name__, storage_class)
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


class Storage:
    def __init__(self, kind, key, values):
        self.kind, self.key, self.values = kind, key, values


class Tensor:
    def __init__(self, storage, size):
        self.storage, self.size = storage, size

    def __reduce_ex__(self, protocol):
        stride, step = [], 1
        for extent in reversed(self.size):
            stride.insert(0, step)
            step *= extent
        return (_rebuild_tensor_v2, (self.storage, 0, tuple(self.size), tuple(stride), False,
                                     collections.OrderedDict()))


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.kind, obj.key, "cpu", len(obj.values))
        return None


def main(path):
    state, storages = {}, []

    def add(name, kind, values, size):
        storage = Storage(kind, str(len(storages)), values)
        storages.append(storage)
        state[name] = Tensor(storage, size)

    add("conv1.weight", FloatStorage, [0.5 * i for i in range(6)], [2, 3])
    add("bn1.num_batches_tracked", LongStorage, [7], [])
    data = io.BytesIO()
    Pickler(data, protocol=2).dump(state)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("resnet18/data.pkl", data.getvalue())
        archive.writestr("resnet18/.format_version", "1")
        archive.writestr("resnet18/.storage_alignment", "64")
        archive.writestr("resnet18/byteorder", "little")
        for storage in storages:
            code = "f" if storage.kind is FloatStorage else "q"
            archive.writestr("resnet18/data/" + storage.key,
                             struct.pack("<%d%s" % (len(storage.values), code), *storage.values))
        archive.writestr("resnet18/version", "3\n")
        archive.writestr("resnet18/.data/serialization_id", "0123456789")


if __name__ == "__main__":
    main(sys.argv[1])
