"""Geometry: domains and point sampling, constructive solid geometry, shapes, distance functions, mesh domains.

Below :mod:`kanpde.pde` (which describes problems on these domains) and above :mod:`kanpde.nn`
(which it does not need). Inside, ``domains`` <- ``distance`` <- ``shapes`` <- ``csg`` <- ``mesh_domain``;
``domains`` learns the classes behind ``a | b``, ``a & b``, ``a - b`` when ``csg`` registers them on import,
which importing this package always does.
"""

from .csg import CSG, Difference, Intersection, Union
from .domains import METHODS, Box, Disk, Domain, Interval, Rectangle, SpaceTime, TimeInterval
from .mesh_domain import MeshDomain
from .shapes import Ball, Ellipse, Polygon, Sphere, Triangle

__all__ = ["Ball", "Box", "CSG", "Difference", "Disk", "Domain", "Ellipse", "Intersection", "Interval", "METHODS",
           "MeshDomain", "Polygon", "Rectangle", "SpaceTime", "Sphere", "TimeInterval", "Triangle", "Union"]
