class BaseModel:  # STUB: mixin base only
    pass
