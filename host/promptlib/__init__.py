"""The prompt library: marketers' prompts and scripts as versioned, labelled, validated items."""
