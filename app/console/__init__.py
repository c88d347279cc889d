"""The browser console (指挥中心工作台) for staff: server-rendered pages over the domain services."""
