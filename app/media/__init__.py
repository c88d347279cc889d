"""Media: photo uploads (local or Qiniu), content checks, signed reads."""
