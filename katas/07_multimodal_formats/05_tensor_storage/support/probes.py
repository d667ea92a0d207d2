"""What the tensor_storage tests do beside the learner's module: write the files the test hands over
(as bytes) into a folder of this process, call save()/load() on paths there, and return what the test
judges as data: the bytes save() wrote, what load() returned, where its arrays lie and which mappings
of the file this process holds, the peak Python allocation during load(), the exception a malformed
file raised. Under `kata grade` this file runs in the learner's process (kata.probe), the checks do not."""
import gc
import pathlib
import shutil
import tempfile
import tracemalloc

import numpy as np

from kata.toolkit import file_mappings


def _folder():
    return pathlib.Path(tempfile.mkdtemp(prefix="kata-st-"))


def save(mod, tensors, *metadata, prefill=None, views=None, shapes=None):
    """mod.save(path, tensors, *metadata) on a fresh path (first filled with `prefill`: an older file it
    must replace). `views` {name: (array, transpose, index)} puts in place of tensors[name] an array built
    here as a view of another (array.T if transpose, then [index]): strided inputs, which do not cross
    to this process as such. `shapes` {name: shape}: each array's shape as the test made it (a 0-d
    array crosses as shape (1,)). Returns the bytes of the file save() wrote."""
    d = _folder()
    try:
        path = d / "yours.safetensors"
        if prefill is not None:
            path.write_bytes(prefill)
        views = views or {}
        tensors = {name: (views[name][0].T if views[name][1] else views[name][0])[views[name][2]]
                   if name in views else a for name, a in tensors.items()}
        for name, shape in (shapes or {}).items():
            if tensors[name].shape != tuple(shape):
                tensors[name] = tensors[name].reshape(shape)
        mod.save(path, tensors, *metadata)
        return path.read_bytes()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def load(mod, data, trace=False, keep=None):
    """mod.load(path) of a file holding `data`. Returns {"got", "meta"} (what load() returned),
    "views" {name: (writeable, address, nbytes, shape)} for each numpy array it returned, "maps" (this process's
    mappings of the file, right after load()), "peak" (tracemalloc's peak during load(), if `trace`) and,
    with `keep`, "kept_last": the last element of got[keep] read after the dict itself was dropped."""
    d = _folder()
    try:
        path = d / "theirs.safetensors"
        path.write_bytes(data)
        del data
        gc.collect()
        peak = None
        if trace:
            tracemalloc.start()
            try:
                got, meta = mod.load(path)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        else:
            got, meta = mod.load(path)
        maps = file_mappings(path)
        views = {}
        if isinstance(got, dict):
            for name, g in got.items():
                if isinstance(g, np.ndarray):
                    views[name] = (bool(g.flags.writeable), int(g.__array_interface__["data"][0]), int(g.nbytes),
                                   tuple(g.shape))
        # (a dict of a subclass, OrderedDict say, as a plain dict: it crosses as data, and is still a dict)
        out = {"got": dict(got) if isinstance(got, dict) else got,
               "meta": dict(meta) if isinstance(meta, dict) else meta, "views": views, "maps": maps, "peak": peak}
        if keep is not None:
            kept = got[keep]
            del got
            gc.collect()
            out["kept_last"] = kept[(-1,) * kept.ndim].item() if isinstance(kept, np.ndarray) and kept.size else None
        return out
    finally:
        shutil.rmtree(d, ignore_errors=True)


def load_error(mod, data):
    """mod.load(path) of a file holding `data`, expected to refuse it. Returns None if it returned, else
    (exception type name, whether it is a mod.FormatError, message). A stub's NotImplementedError
    propagates."""
    d = _folder()
    try:
        path = d / "bad.safetensors"
        path.write_bytes(data)
        try:
            mod.load(path)
        except mod.FormatError as e:
            return (type(e).__name__, True, str(e))
        except NotImplementedError:
            raise
        except Exception as e:  # noqa: BLE001 - the test says which type came back
            return (type(e).__name__, False, str(e))
        return None
    finally:
        shutil.rmtree(d, ignore_errors=True)
