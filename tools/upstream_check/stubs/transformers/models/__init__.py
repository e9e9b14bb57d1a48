class T5TokenizerFast:  # STUB: type annotation only
    pass


class UMT5EncoderModel:  # STUB: type annotation only
    pass
