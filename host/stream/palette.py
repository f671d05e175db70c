"""Overlay colours, in one place so the look of the stream changes here alone."""

BOX = (12, 12, 16, 170)  # translucent panel behind text: readable on any background
WHITE = (255, 255, 255)
GREY = (178, 178, 186)
ACCENT = (255, 206, 84)  # viewer names, link number, promotion
PRICE = (255, 77, 79)
WARNING = (255, 120, 90)  # low stock, sold out
LABEL_BOX = (0, 0, 0, 190)
