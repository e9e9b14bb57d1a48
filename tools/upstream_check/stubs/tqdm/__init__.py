def tqdm(it=None, *a, **k):  # STUB: no progress bar
    return it


def trange(*a, **k):
    return range(*a)
