"""A catalog of named causal graphs with their standard queries and whether those are identifiable.

Edge lists follow the cited figures; where a graph also lives in ``y0.examples`` the reference names
it, and the edges here are the same (they are written out so that ``import idgen.examples`` does not
pull in y0's example data). Every query of an example shares its ``identifiable`` verdict.

Examples
--------
>>> example = EXAMPLES["napkin"]
>>> example.queries, example.identifiable
(('P(Y | do(X))',), True)
>>> sorted(name for name, example in EXAMPLES.items() if not example.identifiable)[:3]
['bow', 'confounded_mediator', 'instrumental_variable']
"""

from __future__ import annotations

from dataclasses import dataclass

from idgen.graph import ADMG

__all__ = ["Example", "EXAMPLES"]

_SHPITSER_PEARL_2008 = (
    "Shpitser, I. & Pearl, J. (2008). Complete Identification Methods for the Causal Hierarchy. JMLR 9"
)
_PEARL_2009 = 'Pearl, J. (2009). "Causality: Models, Reasoning and Inference", 2nd ed.'
_TIAN_2002 = 'Tian, J. (2002). "Studies in Causal Reasoning and Learning", PhD thesis, UCLA'
_BAREINBOIM_PEARL_2012 = (
    "Bareinboim, E. & Pearl, J. (2012). Causal Inference by Surrogate Experiments: z-Identifiability"
)


@dataclass(frozen=True)
class Example:
    """A named causal graph with its standard queries.

    Attributes
    ----------
    name : str
        Key of the example in :data:`EXAMPLES`.
    graph : ADMG
        The causal graph.
    queries : tuple of str
        Queries in the ``P(Y1, Y2 | do(X1, X2), W)`` syntax.
    identifiable : bool
        Whether every query in ``queries`` is identifiable from the observational distribution.
    description : str
        What the example shows (which ID lines fire, which adjustment applies).
    reference : str
        Where the graph comes from.
    """

    name: str
    graph: ADMG
    queries: tuple[str, ...]
    identifiable: bool
    description: str
    reference: str = ""


def _catalog(*examples: Example) -> dict[str, Example]:
    return {example.name: example for example in examples}


EXAMPLES: dict[str, Example] = _catalog(
    # ------------------------------------------------------------------ textbook adjustments
    Example(
        name="backdoor",
        graph=ADMG(directed=[("Z", "X"), ("Z", "Y"), ("X", "Y")]),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description="Back-door adjustment: P(y | do(x)) = Σ_z P(y | x, z) P(z).",
        reference=f"{_PEARL_2009}, p. 178; y0.examples.backdoor",
    ),
    Example(
        name="backdoor_conditional",
        graph=ADMG(directed=[("Z", "X"), ("Z", "Y"), ("X", "Y")]),
        queries=("P(Y | do(X), Z)",),
        identifiable=True,
        description="IDC on the back-door graph: P(y | do(x), z) = P(y | x, z).",
        reference=f"{_PEARL_2009}, p. 178",
    ),
    Example(
        name="frontdoor",
        graph=ADMG(directed=[("X", "M"), ("M", "Y")], bidirected=[("X", "Y")]),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description="Front-door adjustment: P(y | do(x)) = Σ_m P(m | x) Σ_x' P(y | x', m) P(x').",
        reference=f"{_PEARL_2009}, p. 81; y0.examples.frontdoor (mediator named Z there)",
    ),
    Example(
        name="frontdoor_conditional",
        graph=ADMG(directed=[("X", "M"), ("M", "Y")], bidirected=[("X", "Y")]),
        queries=("P(Y | do(X), M)",),
        identifiable=True,
        description="IDC moves M into the intervention by rule 2: P(y | do(x), m) = Σ_x' P(y | x', m) P(x').",
        reference=f"{_PEARL_2009}, p. 81",
    ),
    Example(
        name="frontdoor_backdoor",
        graph=ADMG(directed=[("W", "X"), ("W", "Y"), ("X", "Z"), ("Z", "Y")]),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description="Both the back-door set {W} and the front-door mediator Z identify the effect.",
        reference="y0.examples.frontdoor_backdoor",
    ),
    Example(
        name="napkin",
        graph=ADMG(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")]),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description=(
            "No back-door or front-door adjustment exists; ID goes line 3 → line 7 → line 2 → line 6 and "
            "P(y | do(x)) = Σ_w1 P(x, y | w1, w2) P(w1) / Σ_w1 P(x | w1, w2) P(w1)."
        ),
        reference=("Pearl, J. & Mackenzie, D. (2018). The Book of Why, p. 240; y0.examples.napkin (W1, W2 = Z2, Z1)"),
    ),
    Example(
        name="m_graph",
        graph=ADMG(directed=[("X", "Y")], bidirected=[("X", "Z"), ("Y", "Z")]),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description=(
            "Z is a collider of two latents and no ancestor of Y: line 2 drops it, then P(y | do(x)) = P(y | x)."
        ),
        reference=("Greenland, Pearl & Robins (1999). Causal diagrams for epidemiologic research; y0.examples.m_graph"),
    ),
    # ------------------------------------------------------------------ one example per line of ID
    Example(
        name="line_1",
        graph=ADMG(directed=[("Z", "Y")]),
        queries=("P(Y)", "P(Y, Z)"),
        identifiable=True,
        description="Line 1: no intervention, the answer is a marginal of the observational distribution.",
        reference="y0.examples.line_1_example",
    ),
    Example(
        name="line_2",
        graph=ADMG(directed=[("Z", "Y"), ("Y", "X")], bidirected=[("Z", "X")]),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description="Line 2: X is no ancestor of Y and is dropped; P(y | do(x)) = P(y).",
        reference="y0.examples.line_2_example",
    ),
    Example(
        name="line_3",
        graph=ADMG(directed=[("Z", "X"), ("X", "Y")], bidirected=[("Z", "X")]),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description=("Line 3: intervening on Z as well changes nothing once X is fixed; P(y | do(x)) = P(y | x)."),
        reference="y0.examples.line_3_example",
    ),
    Example(
        name="line_4",
        graph=ADMG(
            directed=[("X", "M"), ("Z", "X"), ("Z", "Y"), ("M", "Y")],
            bidirected=[("Z", "X"), ("M", "Y")],
        ),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description="Line 4: G without X splits into the districts {Z} and {M, Y}, solved separately.",
        reference="y0.examples.line_4_example",
    ),
    Example(
        name="line_5",
        graph=ADMG(directed=[("X", "Y")], bidirected=[("X", "Y")]),
        queries=("P(Y | do(X))",),
        identifiable=False,
        description="Line 5: the bow graph (same as 'bow'); the whole graph is one district, a hedge.",
        reference=f"{_SHPITSER_PEARL_2008}; y0.examples.line_5_example",
    ),
    Example(
        name="line_6",
        graph=ADMG(directed=[("X", "Y"), ("X", "Z"), ("Z", "Y")], bidirected=[("X", "Z")]),
        queries=("P(Y | do(X, Z))",),
        identifiable=True,
        description="Line 6: {Y} is a district of G, so P(y | do(x, z)) = P(y | x, z).",
        reference=f"{_SHPITSER_PEARL_2008}; y0.examples.line_6_example",
    ),
    Example(
        name="line_7",
        graph=ADMG(directed=[("W1", "X"), ("X", "Y1")], bidirected=[("W1", "Y1")]),
        queries=("P(Y1 | do(X))", "P(Y1 | do(X, W1))"),
        identifiable=True,
        description=(
            "Line 7: {Y1} lies inside the district {W1, Y1}; P(y1 | do(x)) = Σ_w1 P(y1 | x, w1) P(w1) "
            "(line 3 first adds W1 to the intervention for the first query)."
        ),
        reference=f"{_SHPITSER_PEARL_2008}, Figure 5; the input graph of y0.examples.line_7_example",
    ),
    # ------------------------------------------------------------------ not identifiable
    Example(
        name="bow",
        graph=ADMG(directed=[("X", "Y")], bidirected=[("X", "Y")]),
        queries=("P(Y | do(X))",),
        identifiable=False,
        description="The bow arc: X and Y confounded and adjacent, the smallest hedge.",
        reference=_SHPITSER_PEARL_2008,
    ),
    Example(
        name="instrumental_variable",
        graph=ADMG(directed=[("Z", "X"), ("X", "Y")], bidirected=[("X", "Y")]),
        queries=("P(Y | do(X))",),
        identifiable=False,
        description="An instrument does not identify the effect non-parametrically (bow arc over X → Y).",
        reference=f"{_PEARL_2009}, p. 153; y0.examples.instrumental_variable",
    ),
    Example(
        name="instrumental_variable_conditional",
        graph=ADMG(directed=[("Z", "X"), ("X", "Y")], bidirected=[("X", "Y")]),
        queries=("P(Y | do(X), Z)",),
        identifiable=False,
        description=("IDC moves Z into the intervention by rule 2, which leaves the bow arc: not identifiable."),
        reference=f"{_PEARL_2009}, p. 153",
    ),
    Example(
        name="confounded_mediator",
        graph=ADMG(directed=[("X", "Z"), ("X", "Y"), ("Z", "Y")], bidirected=[("X", "Z")]),
        queries=("P(Y | do(X))",),
        identifiable=False,
        description=("Hedge F = {X, Z}, F' = {Z}: the effect of X on its confounded mediator Z is not identifiable."),
        reference=f"{_SHPITSER_PEARL_2008}; y0.examples.tikka_figure_2 (same graph as line_6)",
    ),
    Example(
        name="tikka_unidentifiable",
        graph=ADMG(
            directed=[("X", "W"), ("W", "Y"), ("D", "Z"), ("Z", "Y"), ("X", "Y")],
            bidirected=[("X", "Y")],
        ),
        queries=("P(Y | do(X))",),
        identifiable=False,
        description="Figure 9a with a direct edge X → Y added: the bow arc X → Y, X ↔ Y is a hedge.",
        reference=(
            "Tikka, S. (2022). Identifying counterfactual queries with the R package cfid; "
            "y0.examples.tikka_unidentifiable_graph"
        ),
    ),
    Example(
        name="z_identifiability_1",
        graph=ADMG(directed=[("Z", "X"), ("X", "Y")], bidirected=[("Z", "X"), ("Z", "Y")]),
        queries=("P(Y | do(X))",),
        identifiable=False,
        description=("Conditioning on Z blocks X ← Z ↔ Y but opens X ↔ Z ↔ Y; the hedge is F = {X, Y, Z}, F' = {Y}."),
        reference=f"{_BAREINBOIM_PEARL_2012}, p. 114; y0.examples.z_identifiability_1",
    ),
    Example(
        name="z_identifiability_2",
        graph=ADMG(directed=[("Z", "X"), ("X", "Y")], bidirected=[("X", "Y"), ("Z", "Y")]),
        queries=("P(Y | do(X))",),
        identifiable=False,
        description="The bow arc X → Y, X ↔ Y, with a confounded instrument.",
        reference=f"{_BAREINBOIM_PEARL_2012}, p. 114; y0.examples.z_identifiability_2",
    ),
    Example(
        name="z_identifiability_3",
        graph=ADMG(directed=[("Z", "Y"), ("X", "Y")], bidirected=[("X", "Z"), ("Z", "Y")]),
        queries=("P(Y | do(X))",),
        identifiable=False,
        description="X ↔ Z ↔ Y puts X and Y in one district while Y depends on X: a hedge.",
        reference=f"{_BAREINBOIM_PEARL_2012}, p. 114; y0.examples.z_identifiability_3",
    ),
    Example(
        name="tikka_trso_figure_8",
        graph=ADMG(
            directed=[
                ("X1", "Y1"),
                ("X1", "Y2"),
                ("W", "Y1"),
                ("W", "Y2"),
                ("Z", "Y1"),
                ("Z", "X2"),
                ("X2", "Y2"),
                ("Z", "Y2"),
            ],
            bidirected=[("X1", "Y1"), ("Z", "W"), ("Z", "X2")],
        ),
        queries=("P(Y1, Y2 | do(X1, X2))",),
        identifiable=False,
        description="Two treatments, two outcomes; the bow arc X1 → Y1, X1 ↔ Y1 is a hedge.",
        reference="Tikka, S., Hyttinen, A. & Karvanen, J. (2019). Causal effect identification from multiple "
        "incomplete data sources (arXiv:1806.07172), Figure 8; y0.examples.tikka_trso_figure_8",
    ),
    # ------------------------------------------------------------------ Shpitser & Pearl (2008) figures
    Example(
        name="shpitser_pearl_figure_2b",
        graph=ADMG(directed=[("X", "Y"), ("X", "Z"), ("Z", "Y")], bidirected=[("Y", "Z")]),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description="{Y, Z} is a district of G: line 6 gives P(y | do(x)) = Σ_z P(y | x, z) P(z | x).",
        reference=f"{_SHPITSER_PEARL_2008}, Figure 2b; y0.examples.figure_2b_example",
    ),
    Example(
        name="shpitser_pearl_figure_2c",
        graph=ADMG(directed=[("X", "Y"), ("Z", "X"), ("Z", "Y")], bidirected=[("X", "Z")]),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description=("Z is a back-door set although it is confounded with X: P(y | do(x)) = Σ_z P(y | x, z) P(z)."),
        reference=f"{_SHPITSER_PEARL_2008}, Figure 2c; y0.examples.complete_hierarchy_figure_2c_example",
    ),
    Example(
        name="shpitser_pearl_figure_3a",
        graph=ADMG(
            directed=[("X", "Y1"), ("W1", "X"), ("W2", "Y2")],
            bidirected=[("W1", "W2"), ("W1", "Y1"), ("W1", "Y2"), ("X", "W2")],
        ),
        queries=("P(Y1, Y2 | do(X))",),
        identifiable=True,
        description="Joint effect on two outcomes in one large district.",
        reference=f"{_SHPITSER_PEARL_2008}, Figure 3a; y0.examples.complete_hierarchy_figure_3a_example",
    ),
    Example(
        name="shpitser_pearl_figure_6a",
        graph=ADMG(directed=[("X", "Z"), ("Z", "Y")], bidirected=[("X", "Z")]),
        queries=("P(Y | do(X), Z)",),
        identifiable=True,
        description="IDC: rule 2 moves Z into the intervention; P(y | do(x), z) = P(y | x, z).",
        reference=f"{_SHPITSER_PEARL_2008}, Figure 6a; y0.examples.figure_6a",
    ),
    Example(
        name="shpitser_pearl_figure_9a",
        graph=ADMG(directed=[("X", "W"), ("W", "Y"), ("D", "Z"), ("Z", "Y")], bidirected=[("X", "Y")]),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description="A front-door path X → W → Y next to an unconfounded branch D → Z → Y.",
        reference=f"{_SHPITSER_PEARL_2008}, Figure 9a; y0.examples.figure_9a",
    ),
    # ------------------------------------------------------------------ Pearl (2009) and Tian (2002)
    Example(
        name="pearl_identifiability_1",
        graph=ADMG(
            directed=[
                ("Z1", "Z2"),
                ("Z1", "Z3"),
                ("Z2", "X"),
                ("Z3", "X"),
                ("Z4", "X"),
                ("Z4", "Z5"),
                ("Z3", "Y"),
                ("X", "Y"),
            ]
        ),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description="A Markovian model (no latents): always identifiable by the truncated factorization.",
        reference=f"{_PEARL_2009}, p. 80; y0.examples.identifiability_1",
    ),
    Example(
        name="pearl_identifiability_2",
        graph=ADMG(
            directed=[
                ("Z1", "Z2"),
                ("Z1", "Z3"),
                ("Z2", "X"),
                ("Z3", "X"),
                ("X", "W0"),
                ("W0", "Y"),
                ("Z4", "Z3"),
                ("Z4", "Z5"),
                ("Z5", "Y"),
                ("X", "W1"),
                ("W1", "W2"),
                ("W2", "Y"),
                ("Z3", "Y"),
            ],
            bidirected=[("Z1", "X"), ("Z2", "Z3"), ("Z3", "Z5"), ("Z4", "Y")],
        ),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description="pearl_identifiability_1 extended with mediators and four latent confounders.",
        reference="E. Bareinboim's modification of Pearl (2009), p. 80; y0.examples.identifiability_2",
    ),
    Example(
        name="pearl_identifiability_3",
        graph=ADMG(
            directed=[("Z2", "X"), ("Z2", "Z1"), ("Z2", "Z3"), ("X", "Z1"), ("Z3", "Y"), ("Z1", "Y")],
            bidirected=[("Z2", "X"), ("Z2", "Y"), ("X", "Z3"), ("X", "Y")],
        ),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description="Identifiable although X is confounded with Y, Z2 and Z3.",
        reference=f"{_PEARL_2009}, p. 92; y0.examples.identifiability_3",
    ),
    Example(
        name="pearl_identifiability_4",
        graph=ADMG(
            directed=[("X", "Z1"), ("X", "Y"), ("Z1", "Z2"), ("Z1", "Y"), ("Z2", "Y")],
            bidirected=[("X", "Z2"), ("Z1", "Y")],
        ),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description="Two interleaved confounders; identifiable.",
        reference=f"{_PEARL_2009}, p. 92; y0.examples.identifiability_4",
    ),
    Example(
        name="pearl_identifiability_5",
        graph=ADMG(
            directed=[("X1", "Z"), ("X1", "Y"), ("X1", "X2"), ("Z", "X2"), ("X2", "Y")],
            bidirected=[("X1", "Z"), ("Z", "Y")],
        ),
        queries=("P(Y | do(X1, X2))",),
        identifiable=True,
        description="A sequential (two-treatment) plan.",
        reference=f"{_PEARL_2009}, p. 119; y0.examples.identifiability_5",
    ),
    Example(
        name="pearl_identifiability_6",
        graph=ADMG(
            directed=[("Z1", "X1"), ("X1", "X2"), ("X2", "Y"), ("Z2", "Y")],
            bidirected=[("Z1", "Z2"), ("Z1", "X2"), ("Z2", "X2")],
        ),
        queries=("P(Y | do(X1, X2))",),
        identifiable=True,
        description="A sequential plan whose second treatment is confounded with the covariates.",
        reference=f"{_PEARL_2009}, p. 125; y0.examples.identifiability_6",
    ),
    Example(
        name="tian_2002",
        graph=ADMG(
            directed=[("W1", "W2"), ("W3", "W4"), ("W2", "X"), ("W4", "X"), ("X", "Y")],
            bidirected=[("W1", "X"), ("W1", "Y"), ("W1", "W3"), ("W3", "W2"), ("W3", "W5"), ("W5", "W4")],
        ),
        queries=("P(Y | do(X))",),
        identifiable=True,
        description=("Tian's graph: W1 ↔ X and W1 ↔ Y as in the napkin, plus a second confounded chain W3 → W4 → X."),
        reference=f"{_TIAN_2002}, p. 90; y0.examples.identifiability_7",
    ),
    Example(
        name="verma_1",
        graph=ADMG(directed=[("V1", "V2"), ("V2", "V3"), ("V3", "V4")], bidirected=[("V2", "V4")]),
        queries=("P(V4 | do(V3))",),
        identifiable=True,
        description="The Verma graph: the effect is identifiable and the model implies a Verma constraint.",
        reference=(
            "Verma, T. & Pearl, J. (1990). Equivalence and synthesis of causal models, p. 257; y0.examples.verma_1"
        ),
    ),
    Example(
        name="verma_2",
        graph=ADMG(
            directed=[("V1", "V2"), ("V2", "V3"), ("V3", "V4"), ("V4", "V5")],
            bidirected=[("V1", "V3"), ("V2", "V4"), ("V3", "V5")],
        ),
        queries=("P(V5 | do(V1))",),
        identifiable=True,
        description="A chain with overlapping confounders.",
        reference=f"{_TIAN_2002}, p. 70; y0.examples.verma_2",
    ),
    Example(
        name="verma_3",
        graph=ADMG(
            directed=[("V1", "V2"), ("V2", "V3"), ("V3", "V4"), ("V4", "V5")],
            bidirected=[("V1", "V5"), ("V1", "V3"), ("V2", "V4")],
        ),
        queries=("P(V5 | do(V1))",),
        identifiable=True,
        description=("A chain whose treatment is confounded with the outcome, identified through the mediators."),
        reference=f"{_TIAN_2002}, p. 59; y0.examples.verma_3",
    ),
)
