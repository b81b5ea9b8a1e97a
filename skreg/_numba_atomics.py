"""Atomic counters for compiled code running on several threads at once (numba has none on the
CPU): an ``int64`` array's entries fetched-and-added and read with LLVM's atomic instructions,
and a CPU hint for spin loops.

A thread that writes its results and then increments a counter with :func:`fetch_add` makes
those results visible to any thread that reads the new count with :func:`load_acquire`.

numba is an optional dependency: import this module only with the numba engine.
"""

import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _entry_pointer(context, builder, array_type, array, index):
    array = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, array, [index])


@intrinsic
def fetch_add(typingctx, counters, index, value):
    """``counters[index] += value`` atomically (sequentially consistent); returns the entry's
    value before the addition."""
    signature = types.int64(counters, types.intp, types.int64)

    def codegen(context, builder, signature, args):
        pointer = _entry_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.atomic_rmw("add", pointer, args[2], "seq_cst")

    return signature, codegen


@intrinsic
def load_acquire(typingctx, counters, index):
    """``counters[index]``, read atomically: whatever a thread wrote before it last updated the
    entry is visible after the read."""
    signature = types.int64(counters, types.intp)

    def codegen(context, builder, signature, args):
        pointer = _entry_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(pointer, "acquire", 8)

    return signature, codegen


_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


@intrinsic
def spin_pause(typingctx):
    """Tell the CPU the thread is waiting in a spin loop (x86's ``pause``; nothing elsewhere)."""
    signature = types.void()

    def codegen(context, builder, signature, args):
        if _X86:
            pause = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause"
            )
            builder.call(pause, [])
        return context.get_dummy_value()

    return signature, codegen
