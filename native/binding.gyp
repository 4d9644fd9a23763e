{
  # Built by scripts/build-native.mjs, which finds libjpeg-turbo's TurboJPEG and passes its directories here.
  "variables": {
    "tj_include_dir%": "",
    "tj_lib_dir%": ""
  },
  "targets": [
    {
      "target_name": "framewire_jpeg",
      "sources": ["src/framewire_jpeg.c"],
      "defines": ["NAPI_VERSION=8"],
      # -O3: lets GCC vectorise the range squeeze after tjEncodeYUV3 (0.55 -> 0.15 ms per 720p frame).
      "cflags": ["-O3", "-Wall", "-Wextra", "-std=c11"],
      "conditions": [
        ["tj_include_dir!=''", { "include_dirs": ["<(tj_include_dir)"] }],
        ["tj_lib_dir!=''", {
          "libraries": ["-L<(tj_lib_dir)", "-Wl,-rpath,<(tj_lib_dir)", "-lturbojpeg"]
        }, {
          "libraries": ["-lturbojpeg"]
        }],
        ["OS=='mac'", {
          "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-Wall", "-Wextra", "-std=c11"] }
        }]
      ]
    }
  ]
}
