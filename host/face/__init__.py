"""Face: avatars and the animators that turn speech into talking-head frames."""
