PipelineImageInput = object  # STUB: type alias only
