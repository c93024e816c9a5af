"""Does a graph fit a dataset and a task? Each mismatch becomes a Problem naming the node and
field to change, with a one-click Fix when changing one parameter is enough."""
import math

from builder import Fix, Problem, Report
from trainers.datasets.bundle import DatasetInfo

LABELLED_TASKS = ("classification", "regression")  # learn the dataset's own targets
INPUT_TASKS = ("autoencoder", "vae", "gan")  # model the inputs themselves, labels unused


def check_graph_fits(report: Report, info: DatasetInfo, task: str) -> list[Problem]:
    """Problems between the validated graph (`report`) and the dataset `info` for `task`.

    Inputs are always checked; outputs only on a valid report, since their shapes are inferred
    (an Input of the wrong shape is often why the rest of the graph fails to validate).
    """
    problems = _task_problems(info, task)
    if problems or not report.input_ids:
        return problems
    if task == "gan":
        return _gan_problems(report, info)
    first, *extra = report.input_ids
    if extra:
        return [Problem(extra[0], None, f"'{info.name}' gives one input per example, but this graph "
                        f"has {len(report.input_ids)} Inputs ({', '.join(report.input_ids)}); "
                        "remove all but one.")]
    problems = _input_problems(report, first, info) or _vocab_problems(report, info)
    if problems or not report.valid:
        return problems
    return [problem for output in report.output_ids
            if (problem := _output_problem(report, output, info, task))]


def _task_problems(info: DatasetInfo, task: str) -> list[Problem]:
    if task in LABELLED_TASKS and info.task != task:
        kind = "numbers to predict" if info.task == "regression" else "classes"
        return [Problem(None, "task", f"'{info.name}' has {kind}, so train it with the "
                        f"{info.task} task, not {task}.")]
    if task in INPUT_TASKS and info.input_dtype != "float":
        return [Problem(None, "task", f"'{info.name}' is made of token ids, which a model cannot "
                        f"reconstruct; the {task} task needs measurements or pixels "
                        "(try digits or shapes).")]
    return []


def _input_problems(report: Report, input_id: str, info: DatasetInfo) -> list[Problem]:
    node = report.nodes.get(input_id)
    if node is None:
        return []
    problems = []
    wanted_shape = list(info.input_shape)
    if list(node.output_shape) != wanted_shape:
        problems.append(Problem(input_id, "shape", (
            f"Input '{input_id}' has shape {list(node.output_shape)}, but each example of "
            f"'{info.name}' has shape {wanted_shape}."),
            Fix("set_param", input_id, f"Set {input_id} shape to {wanted_shape}",
                field="shape", value=wanted_shape)))
    if node.dtype != info.input_dtype:
        why = ("token ids (whole numbers)" if info.input_dtype == "long"
               else "measurements or pixels (decimals)")
        problems.append(Problem(input_id, "dtype", (
            f"Input '{input_id}' has dtype {node.dtype}, but '{info.name}' gives {why}: "
            f"dtype {info.input_dtype}."),
            Fix("set_param", input_id, f"Set {input_id} dtype to {info.input_dtype}",
                field="dtype", value=info.input_dtype)))
    return problems


def _vocab_problems(report: Report, info: DatasetInfo) -> list[Problem]:
    """Every Embedding must have a row for each token id the data holds."""
    if not info.vocab_size:
        return []
    problems = []
    for node_id, node in report.nodes.items():
        rows = node.resolved_params.get("num_embeddings") if node.type == "Embedding" else None
        if rows is not None and rows < info.vocab_size:
            problems.append(Problem(node_id, "num_embeddings", (
                f"Embedding '{node_id}' has {rows} rows, but '{info.name}' has "
                f"{info.vocab_size} different token ids; it needs num_embeddings >= "
                f"{info.vocab_size}."),
                Fix("set_param", node_id, f"Set {node_id} num_embeddings to {info.vocab_size}",
                    field="num_embeddings", value=info.vocab_size)))
    return problems


def _output_problem(report: Report, output_id: str, info: DatasetInfo, task: str) -> Problem | None:
    shape = tuple(report.nodes[output_id].output_shape)
    if task == "classification":
        wanted, exact = (info.num_classes,), True  # cross-entropy needs [batch, classes]
        reason = f"'{info.name}' has {info.num_classes} classes, so it needs {info.num_classes} outputs"
    elif task == "regression":
        wanted, exact = info.target_shape, False  # any shape with as many numbers is reshaped
        reason = (f"'{info.name}' predicts {math.prod(wanted)} number(s) per example "
                  f"(shape {list(wanted)})")
    else:
        wanted, exact = info.input_shape, False
        reason = f"a reconstruction must have the input's shape {list(wanted)}"
    fits = shape == tuple(wanted) if exact else math.prod(shape) == math.prod(wanted)
    if fits:
        return None
    message = f"Output '{output_id}' gives {list(shape)} per example; {reason}."
    return _problem_with_resize(report, output_id, wanted, message)


def _problem_with_resize(report: Report, output_id: str, wanted: tuple, message: str) -> Problem:
    """The Problem, with a fix on the layer that decides the output's size when there is one."""
    fix = _resize_fix(report, output_id, tuple(wanted))
    if fix is None:
        return Problem(output_id, None, message)
    return Problem(fix.node, fix.field, f"{message} Change {fix.node}'s {fix.field}.", fix)


def _resize_fix(report: Report, output_id: str, wanted: tuple) -> Fix | None:
    source = _size_source(report, output_id)
    node = report.nodes[source]
    shape = tuple(node.output_shape)
    if len(shape) == 1 and len(wanted) > 1:
        wanted = (math.prod(wanted),)  # a flat head may produce a flattened target
    params = node.resolved_params
    if "out_features" in params and shape[:-1] == wanted[:-1]:
        field, value = "out_features", wanted[-1]  # Linear: the last dimension
    elif "out_channels" in params and len(shape) == len(wanted) and shape[1:] == wanted[1:]:
        field, value = "out_channels", wanted[0]  # convolutions: the channel dimension
    else:
        return None
    return Fix("set_param", source, f"Set {source} {field} to {value}", field=field, value=value)


def _size_source(report: Report, node_id: str) -> str:
    """Walk back through shape-keeping one-input layers (activations, Dropout, Output, ...) to the
    layer whose parameters set the output size."""
    node = report.nodes[node_id]
    while _keeps_shape(node) and node.inputs[0] in report.nodes:
        node_id = node.inputs[0]
        node = report.nodes[node_id]
    return node_id


def _keeps_shape(node) -> bool:
    return (len(node.inputs) == 1 and len(node.input_shapes) == 1
            and tuple(node.input_shapes[0]) == tuple(node.output_shape))


def _gan_problems(report: Report, info: DatasetInfo) -> list[Problem]:
    """A GAN graph is two parts: a generator (noise -> an example) and a discriminator (an example
    -> one score). Tell them apart by their outputs, then check each against the data."""
    data = tuple(info.input_shape)
    outputs = report.output_ids
    if not report.valid:
        return []  # which Input takes the data shows only in the inferred output shapes
    if len(outputs) != 2:
        return [Problem(None, None, (
            f"A GAN needs two separate parts, a generator that outputs {list(data)} and a "
            f"discriminator that takes {list(data)} and outputs one score; this graph has "
            f"{len(outputs)} output(s)."))]
    shapes = {out: tuple(report.nodes[out].output_shape) for out in outputs}
    scores = [out for out in outputs if math.prod(shapes[out]) == 1]
    samples = [out for out in outputs if shapes[out] == data]
    if len(samples) == 1:
        generator = samples[0]
    elif len(scores) == 1:
        generator = next(out for out in outputs if out != scores[0])
    else:
        return [Problem(None, None, (
            f"Cannot tell the generator from the discriminator: the outputs give "
            f"{[list(s) for s in shapes.values()]}. The generator should output {list(data)}, "
            "the discriminator one score."))]
    discriminator = next(out for out in outputs if out != generator)
    problems = []
    for input_id in _inputs_feeding(report, discriminator):
        problems += _input_problems(report, input_id, info)
    if shapes[generator] != data:
        problems.append(_problem_with_resize(report, generator, data, (
            f"Generator output '{generator}' gives {list(shapes[generator])}; it must make "
            f"examples shaped like '{info.name}': {list(data)}.")))
    if math.prod(shapes[discriminator]) != 1:
        problems.append(_problem_with_resize(report, discriminator, (1,), (
            f"Discriminator output '{discriminator}' gives {list(shapes[discriminator])}; it must "
            "give one score per example (real or fake).")))
    return problems


def _inputs_feeding(report: Report, node_id: str) -> list[str]:
    """The Input nodes upstream of `node_id`, in the graph's Input order."""
    seen, stack = set(), [node_id]
    while stack:
        current = stack.pop()
        if current not in seen and current in report.nodes:
            seen.add(current)
            stack.extend(report.nodes[current].inputs)
    return [input_id for input_id in report.input_ids if input_id in seen]
