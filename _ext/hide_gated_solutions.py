"""Make sphinx-exercise's ``hide_solutions`` also remove *gated* solutions.

With ``hide_solutions = True``, sphinx-exercise 1.2.1 drops ``{solution}``
blocks but leaves an orphan ``solution_end_node`` for gated solutions
(``solution-start`` / cells / ``solution-end``), which crashes the HTML
writer, and the cells between the markers stay on the page. This extension
is loaded only by the course build (``make book-course``): it replaces each
``solution-start`` by a marker and removes everything up to the matching
``solution-end`` before sphinx-exercise merges gated solutions.
"""

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx_exercise.directive import SolutionStartDirective
from sphinx_exercise.nodes import solution_end_node


class hidden_solution_start(nodes.Element):
    pass


class HiddenAwareSolutionStart(SolutionStartDirective):
    def run(self):
        out = super().run()  # still registers the start for sphinx-exercise's structure check
        return [hidden_solution_start()] if self.env.app.config.hide_solutions else out


class RemoveHiddenGatedSolutions(SphinxTransform):
    default_priority = 5  # before sphinx-exercise's merge of gated solutions (10)

    def apply(self):
        for marker in list(self.document.findall(hidden_solution_start)):
            parent = marker.parent
            start = parent.index(marker)
            for end in range(start + 1, len(parent.children)):
                if isinstance(parent.children[end], solution_end_node):
                    break
            else:
                continue
            for child in parent.children[start : end + 1]:
                parent.remove(child)


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.add_directive("solution-start", HiddenAwareSolutionStart, override=True)
    app.add_node(hidden_solution_start)
    app.add_transform(RemoveHiddenGatedSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
