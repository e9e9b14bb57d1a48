"""STUB of diffusers.video_processor.VideoProcessor: preprocess passes a ready [B,3,H,W] tensor in
[-1,1] through (the real one resizes a PIL image and rescales to [-1,1]); postprocess is identity."""


class VideoProcessor:
    def __init__(self, vae_scale_factor=8, **kw):
        self.vae_scale_factor = vae_scale_factor

    def preprocess(self, image, height=None, width=None):
        assert image.dim() == 4 and image.shape[-2:] == (height, width), (image.shape, height, width)
        return image

    def postprocess_video(self, video, output_type="pil"):
        return video
