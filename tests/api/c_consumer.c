/* A program outside the build that embeds mova through the installed libmova.so, mova.h and
 * mova.pc (tests/cli/test_install.sh compiles it with `cc $(pkg-config --cflags --libs mova)`):
 *   c_consumer MODEL_DIR OUT.mp4
 * Generates a one-step clip and writes it; exit 0 only when every call succeeded. */
#include <mova.h>
#include <stdio.h>

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: c_consumer MODEL_DIR OUT.mp4\n");
    return 2;
  }
  mova_model* model = NULL;
  if (mova_model_open(argv[1], &model) != MOVA_OK) {
    fprintf(stderr, "open: %s\n", mova_last_error());
    return 1;
  }
  mova_generate_params p;
  mova_generate_params_init(&p);
  p.prompt = "a face says ba";
  p.steps = 1;
  p.frames = 5;
  p.threads = 2;
  mova_clip* clip = NULL;
  int rc = 1;
  if (mova_generate(model, &p, &clip) != MOVA_OK) {
    fprintf(stderr, "generate: %s\n", mova_last_error());
  } else {
    const mova_clip_info info = mova_clip_get_info(clip);
    if (mova_clip_write_mp4(clip, argv[2]) != MOVA_OK) {
      fprintf(stderr, "write: %s\n", mova_last_error());
    } else {
      printf("libmova %s: %dx%d, %d frames, %lld samples\n", mova_version(), info.width,
             info.height, info.frames, (long long)info.samples);
      rc = info.frames == 5 ? 0 : 1;
    }
    mova_clip_free(clip);
  }
  mova_model_close(model);
  return rc;
}
