"""The big screen (大屏, /screen): live figures for an area, for staff or through a display link."""
