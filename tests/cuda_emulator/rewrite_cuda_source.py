#!/usr/bin/env python3
"""Turns a .cu file into C++ that the CUDA emulator compiles (tests/cuda_emulator).

Four constructs change:
  kernel<<<grid, block, shmem, stream>>>(args);
      -> ::mova::cuda_emulator::launch("kernel", grid, block, shmem, stream)(
             [&](auto&&... a) { kernel(a...); }, args);
     (a call by name inside a generic lambda deduces template arguments as <<<>>> does);
  extern __shared__ T name[];
      -> T* const name = static_cast<T*>(::mova::cuda_emulator::dynamic_shared_memory());
  cudaFuncSetAttribute(kernel, ...)
      -> ::mova::cuda_emulator::set_dynamic_shared_limit("kernel", ...)
  __shared__ T name[N]...;
      -> the same (a function-static array), then static_shared_array(name, sizeof name),
         which fills it with 0xFF bytes for each block and counts it toward the limit
Everything else is kept, and a #line directive keeps compiler messages pointing at the .cu
file. A launch or attribute call this script cannot parse is an error, never left for the
compiler to misread.

usage: rewrite_cuda_source.py IN.cu OUT.cc
"""
import re
import sys

# A launch starts its line: a kernel name, optionally qualified and with template arguments.
LAUNCH = re.compile(r"^(\s*)((?:::)?\w+(?:::\w+)*(?:<[^;]*?>)?)<<<(.*?)>>>\(")
STATIC_SHARED = re.compile(r"^(\s*)__shared__\s+[^;]*?\b(\w+)\s*(?:\[[^\]]+\])+\s*;")
DYNAMIC_SHARED = re.compile(
    r"extern\s+__shared__\s+(?:__align__\(\s*\d+\s*\)\s+)?(.+?)\s+(\w+)\s*\[\s*\]\s*;")
SET_ATTRIBUTE = re.compile(r"\bcudaFuncSetAttribute\(")


def first_argument(text):
    """The text up to the first comma outside brackets, or None."""
    depth = 0
    for i, c in enumerate(text):
        if c in "<([{":
            depth += 1
        elif c in ">)]}":
            depth -= 1
        elif c == "," and depth == 0:
            return text[:i]
    return None


def literal(text):
    return '"' + text.strip().replace("\\", "\\\\").replace('"', '\\"') + '"'


def rewrite_line(line, where):
    launch = LAUNCH.match(line)
    if launch:
        indent, kernel, config = launch.groups()
        rest = line[launch.end():]
        call = f"[&](auto&&... mova_args) {{ {kernel}(mova_args...); }}"
        line = (f"{indent}::mova::cuda_emulator::launch({literal(kernel)}, {config})({call}"
                + ("" if rest.lstrip().startswith(")") else ", ") + rest)
    elif "<<<" in line:
        sys.exit(f"{where}: a kernel launch that does not start its line with the kernel's name")
    shared = DYNAMIC_SHARED.search(line)
    if shared:
        element, var = shared.groups()
        line = (line[:shared.start()] + f"{element}* const {var} = static_cast<{element}*>("
                "::mova::cuda_emulator::dynamic_shared_memory());" + line[shared.end():])
    static = STATIC_SHARED.match(line)
    if static:
        var = static.group(2)
        line = (line[:static.end()] + f" ::mova::cuda_emulator::static_shared_array({var}, "
                f"sizeof {var});" + line[static.end():])
    elif "__shared__" in line and not shared:
        sys.exit(f"{where}: a __shared__ declaration this script cannot read")
    attribute = SET_ATTRIBUTE.search(line)
    if attribute:
        kernel = first_argument(line[attribute.end():])
        if kernel is None:
            sys.exit(f"{where}: cudaFuncSetAttribute's kernel must be on the call's line")
        line = (line[:attribute.start()] + "::mova::cuda_emulator::set_dynamic_shared_limit("
                + literal(kernel) + line[attribute.end() + len(kernel):])
    return line


def rewrite(text, name):
    out = ["#include <cuda_runtime.h>", f'#line 1 "{name}"']
    for number, line in enumerate(text.splitlines(), 1):
        out.append(rewrite_line(line, f"{name}:{number}"))
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, target = sys.argv[1:]
    with open(source, encoding="utf-8") as f:
        text = f.read()
    with open(target, "w", encoding="utf-8") as f:
        f.write(rewrite(text, source))


if __name__ == "__main__":
    main()
