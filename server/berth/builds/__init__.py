"""Templates Berth builds, as pure logic: recipes, versions, the plan, a template's labels, a base made
from the OS archive. engine.template_build runs them on the engine."""
