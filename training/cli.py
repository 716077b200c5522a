"""`python -m training` / `albumsorter-train`: train, evaluate, compare, export, visualize, bench."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from training.datasets.registry import DATASETS
from training.network_specs import NETWORKS

# TensorFlow's C++ start-up chatter hides the progress lines users need.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _dataset_help() -> str:
    return "; ".join(f"{k}: {v}" for k, v in DATASETS.items())


def _add_data_options(p: argparse.ArgumentParser, required: bool = True) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", required=required, choices=sorted(DATASETS), help=_dataset_help())
    g.add_argument(
        "--data-root",
        required=required,
        type=Path,
        help="the data set's folder (e.g. ../shared/data/ferplus) or file (catalog database)",
    )
    g.add_argument(
        "--labels",
        default="majority",
        choices=["majority", "soft"],
        help="FER+ label rule: Barsoum's majority vote, or soft vote distributions (default majority)",
    )
    g.add_argument("--classes", type=int, default=8, choices=[8, 6, 3], help="class grouping of thesis §6.3 (default 8)")
    g.add_argument("--limit", type=int, default=None, help="use only the first N faces of each split (quick checks)")
    g.add_argument(
        "--seed", type=int, default=0, help="seed of splits without official ones, shuffling and initialisation (default 0)"
    )


def _add_extra_data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("more training data")
    g.add_argument(
        "--extra-train",
        action="append",
        default=[],
        metavar="DATASET=ROOT",
        help="add this data set's train split to the training faces (repeatable; e.g. expw=../shared/data/expw_dev: faces cut from photos by the app's own detector and crop). Validation and test stay on --dataset",
    )
    g.add_argument(
        "--extra-repeat",
        type=int,
        default=1,
        metavar="N",
        help="repeat the extra faces N times, so a small set weighs more (default 1)",
    )


def _bool_flag(g, name: str, default: bool, help: str) -> None:
    g.add_argument(f"--{name}", dest=name.replace("-", "_"), action=argparse.BooleanOptionalAction, default=default, help=help)


def _add_train_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a network (thesis §6.1 set-up by default)",
        description="Train a network into a run folder (command.txt, config.json, split.json, log.csv, train.log, "
        "checkpoints/last.keras every epoch, checkpoints/best.keras chosen on the validation split), then evaluate it "
        "on the test split. Progress: a bar of each epoch's batches on a terminal, and a line per epoch (loss, accuracy, "
        "validation loss and accuracy, lr, best so far) that train.log keeps. Defaults follow thesis §6.1: Adam 1e-4, categorical cross-entropy, batch 32, 256 batches "
        "an epoch, random horizontal flips, early stopping on validation loss, class weights max(n)/(C n_i).",
    )
    _add_data_options(p, required=False)
    _add_extra_data_options(p)
    n = p.add_argument_group("network and input")
    n.add_argument(
        "--network", default="small_cnn", choices=sorted(NETWORKS), help="; ".join(f"{k}: {v}" for k, v in NETWORKS.items())
    )
    n.add_argument("--size", type=int, help="input side in pixels (default: the network's thesis input size; fer_vgg 48)")
    n.add_argument("--channels", type=int, choices=[1, 3], help="1 = grey, 3 = RGB (default: the network's)")
    _bool_flag(
        n,
        "preprocessing",
        True,
        "thesis §5.2 pre-processing (CLAHE, eye-line rotation, 1.7/1.3/3.2 crop) via the app's face_input (default on)",
    )
    n.add_argument(
        "--box-margin",
        type=float,
        default=None,
        help="without pre-processing: margin on each side of the square crop around a detector box, as a fraction of its side (default 0: the detector box, which runs from brow to chin as FER crops do). Used where faces are cut from photos (ExpW, AffectNet, the app); written into the model card. With --resume: a new margin for evaluation and export",
    )
    n.add_argument(
        "--weights",
        type=Path,
        help="weights file to start from (e.g. ImageNet weights of the backbone, include_top=False); never downloaded",
    )
    n.add_argument("--alpha", type=float, help="MobileNet width multiplier (default 1.0)")
    n.add_argument("--width", type=int, help="fer_vgg channels of the first block (default 32)")
    n.add_argument("--dropout", type=float, help="dropout before the classifier (default per network)")
    o = p.add_argument_group("optimisation")
    o.add_argument("--optimizer", default="adam", choices=["adam", "adamw", "sgd"], help="default adam (thesis)")
    o.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate (default 1e-4, thesis). With --resume: a new peak for the re-derived schedule (a warm restart)",
    )
    o.add_argument("--weight-decay", type=float, default=0.0, help="decoupled weight decay for adamw (default 0)")
    o.add_argument(
        "--lr-schedule",
        default="constant",
        choices=["constant", "cosine", "step"],
        help="constant (thesis), cosine decay to 0, or /10 at 50%% and 75%% of the epochs",
    )
    o.add_argument("--warmup-epochs", type=float, default=0.0, help="linear warm-up from lr/10 (cosine schedule only)")
    o.add_argument("--batch-size", type=int, default=32, help="default 32 (thesis)")
    o.add_argument(
        "--steps-per-epoch",
        type=int,
        default=256,
        help="batches an epoch (default 256, thesis); 0 = one pass over the training split",
    )
    o.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="maximum epochs (default 100; early stopping usually ends sooner). With --resume: a new planned total (the LR schedule is re-derived for it)",
    )
    o.add_argument("--early-stopping", type=int, default=5, help="patience in epochs on validation loss (default 5; 0 = off)")
    o.add_argument(
        "--select",
        default="val_accuracy",
        choices=["val_accuracy", "val_loss"],
        help="which epoch's weights become best.keras (default val_accuracy)",
    )
    _bool_flag(o, "class-weights", True, "thesis §5.5 class weights w_i = max_j(n_j) / (C n_i) (default on)")
    o.add_argument("--label-smoothing", type=float, default=0.0, help="label smoothing of the cross-entropy (default 0)")
    a = p.add_argument_group("augmentation")
    _bool_flag(a, "flip", True, "random horizontal flip with p = 0.5 (default on, thesis)")
    a.add_argument("--rotation", type=float, default=0.0, help="random rotation in +-DEG degrees (default 0, thesis)")
    a.add_argument("--shift", type=float, default=0.0, help="random shift in +-FRACTION of the side (default 0)")
    a.add_argument("--zoom", type=float, default=0.0, help="random zoom in 1 +- FRACTION (default 0)")
    a.add_argument("--mixup", type=float, default=0.0, help="mixup with Beta(A, A) (default 0 = off)")
    r = p.add_argument_group("run")
    r.add_argument("--run-dir", type=Path, help="run folder (default training/runs/<network>-<dataset>-<time>)")
    r.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its last checkpoint with its saved configuration",
    )
    _bool_flag(r, "evaluate", True, "evaluate the selected checkpoint on the test split when training ends (default on)")
    p.set_defaults(func=_cmd_train)


def _cmd_train(args) -> int:
    import time

    from training.config import TrainConfig
    from training.paths import default_runs_dir
    from training.train import train

    if args.resume:
        cfg = TrainConfig.load(args.resume / "config.json")
        changed = False
        if args.epochs is not None and args.epochs != cfg.epochs:
            cfg.epochs, changed = args.epochs, True
        if args.lr is not None and args.lr != cfg.lr:
            cfg.lr, changed = args.lr, True
        if args.box_margin is not None and args.box_margin != cfg.box_margin:
            cfg.box_margin, changed = args.box_margin, True
        if changed:
            cfg.save(args.resume / "config.json")
        train(cfg, args.resume, resume=True, evaluate_after=args.evaluate, argv=args.argv)
        return 0
    if not args.dataset or not args.data_root:
        raise SystemExit("train: --dataset and --data-root are required (or --resume RUN_DIR)")
    cfg = TrainConfig(
        dataset=args.dataset,
        data_root=str(args.data_root),
        labels=args.labels,
        classes=args.classes,
        limit=args.limit,
        seed=args.seed,
        network=args.network,
        size=args.size,
        channels=args.channels,
        preprocessing=args.preprocessing,
        box_margin=args.box_margin if args.box_margin is not None else TrainConfig.box_margin,
        extra_train=list(args.extra_train),
        extra_repeat=args.extra_repeat,
        weights=str(args.weights) if args.weights else None,
        alpha=args.alpha,
        width=args.width,
        dropout=args.dropout,
        optimizer=args.optimizer,
        lr=args.lr if args.lr is not None else TrainConfig.lr,
        weight_decay=args.weight_decay,
        lr_schedule=args.lr_schedule,
        warmup_epochs=args.warmup_epochs,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch or None,
        epochs=args.epochs or 100,
        early_stopping=args.early_stopping or None,
        select=args.select,
        class_weights=args.class_weights,
        label_smoothing=args.label_smoothing,
        flip=args.flip,
        rotation=args.rotation,
        shift=args.shift,
        zoom=args.zoom,
        mixup=args.mixup,
    )
    run_dir = args.run_dir or default_runs_dir() / f"{args.network}-{args.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    train(cfg, run_dir, evaluate_after=args.evaluate, argv=args.argv)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Retrain AlbumSorter's expression classifier (thesis 'Efficient FER in everyday photos', §5.3-7) "
        "on any supported data set, evaluate, compare and export it, and install it as the app's default model.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train_parser(sub)
    for add in _EXTRA_PARSERS:
        add(sub)
    return parser


def _add_evaluate_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="evaluate a model on any supported data set (report.md + PNGs + metrics.json)",
        description="Evaluate a run folder, a .keras checkpoint or an exported model.json (run through LiteRT exactly as the app "
        "runs it) on a data set split: top-1, top-2, per-class precision/recall/F1 with macro and weighted averages, confusion "
        "matrices (counts and row-normalised) for the 8 classes and the 6- and 3-class groupings. ExpW-style data goes through "
        "the app's pipeline (detector, IoU matching, face_input); its detection recall is reported too.",
    )
    p.add_argument("--model", required=True, type=Path, help="run folder, .keras file, or model.json card")
    _add_data_options(p)
    p.add_argument("--split", default="test", choices=["train", "valid", "test", "all"], help="default test")
    p.add_argument(
        "--out", type=Path, help="folder for metrics.json / report.md / PNGs (default: the run folder or the model's folder)"
    )
    p.add_argument(
        "--preprocessing",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="for a bare .keras file without a run config: was it trained with pre-processing?",
    )
    p.add_argument(
        "--box-margin",
        type=float,
        default=None,
        help="crop faces cut from photos with this margin instead of the model's (to tune it on ExpW-style data; then train or resume with it)",
    )
    p.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(args) -> int:
    from training.evaluate import evaluate_command, summary_line

    result = evaluate_command(
        args.model,
        args.dataset,
        args.data_root,
        args.split,
        args.labels,
        args.limit,
        args.seed,
        args.out,
        args.preprocessing,
        args.box_margin,
    )
    for note in result.get("notes", []):
        print(note)
    print(summary_line(result))
    return 0


def _add_export_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export a run as Keras + LiteRT + JSON card; --install makes it the app's default",
        description="Write RUN/export/ (or --out): model.keras, model.tflite, model.json (the app's model card, with the "
        "training command, data, split, epochs and the run's metrics), report.md and PNGs. Measures LiteRT inference time "
        "(batch 1 and 64, one thread) and size. --install copies card, model, report and PNGs to models/expression/.",
    )
    p.add_argument("--run", required=True, type=Path, help="run folder (made by train)")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"], help="default best (chosen on the validation split)")
    p.add_argument(
        "--quantize", choices=["none", "float16", "int8"], help="post-training quantisation (default: the run's, none)"
    )
    p.add_argument("--out", type=Path, help="export folder (default RUN/export)")
    p.add_argument("--install", action="store_true", help="install as the app's default model (models/expression/)")
    p.add_argument("--models-dir", type=Path, help="install into this models/ folder instead of the repository's")
    p.set_defaults(func=_cmd_export)


def _cmd_export(args) -> int:
    from training.export import export_run, install

    card = export_run(args.run, args.out, args.checkpoint, args.quantize)
    print(f"exported {card}")
    if args.install:
        print(f"installed {install(card.parent, args.models_dir)}")
    return 0


def _add_compare_parser(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="chi-square test of two runs' predictions on the same faces",
        description="McNemar-style chi-square test (scipy) of whether two evaluated models differ in accuracy on the same "
        "faces, from the predictions-<dataset>-<split>.npz files evaluate writes, plus a chi-square test of independence "
        "of their correct/incorrect counts (the thesis compares networks this way).",
    )
    p.add_argument("run_a", type=Path, help="run or evaluation folder A")
    p.add_argument("run_b", type=Path, help="run or evaluation folder B")
    p.add_argument("--key", default=None, help="which evaluation, e.g. ferplus-test (default: the one both have)")
    p.add_argument("--classes", type=int, default=8, choices=[8, 6, 3], help="grouping to compare in (default 8)")
    p.set_defaults(func=_cmd_compare)


def _cmd_compare(args) -> int:
    from training.compare import compare_runs

    print(compare_runs(args.run_a, args.run_b, args.key, args.classes)["summary"])
    return 0


def _add_visualize_parser(sub) -> None:
    p = sub.add_parser(
        "visualize",
        help="activation maximisation: one image per output neuron, in one picture",
        description="Thesis §5.6 (Lucid-style): start from noise and follow the gradient of each output neuron's "
        "pre-softmax activation, with jitter and blur as regularisers; saves one PNG with a tile per class.",
    )
    p.add_argument("--model", required=True, type=Path, help="run folder or .keras file")
    p.add_argument("--out", type=Path, help="PNG path (default RUN/activation_maximisation.png)")
    p.add_argument("--steps", type=int, default=200, help="gradient steps per neuron (default 200)")
    p.add_argument("--lr", type=float, default=0.05, help="step size (default 0.05)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_visualize)


def _cmd_visualize(args) -> int:
    from training.visualize import activation_maximisation

    print(f"wrote {activation_maximisation(args.model, args.out, args.steps, args.lr, args.seed)}")
    return 0


def _add_bench_parser(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="inference ms/face (LiteRT batch 1 and 64) and size; pre-processing time per photo over a folder",
        description="With --model: LiteRT inference time per face at batch 1 and 64 and file size (thesis §7.5). With "
        "--photos: detection and pre-processing time per photo over a folder, mean/sd/min/max, and a PNG with a histogram "
        "and time against image size (thesis §7.4). Results merge into --out's metrics.json / report.md.",
    )
    p.add_argument("--model", type=Path, help="model.json card or .tflite file")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for LiteRT (default 1)")
    p.add_argument("--photos", type=Path, help="folder of photos (e.g. ../shared/photos)")
    p.add_argument(
        "--preprocessing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the pre-processing on (default) or off variant",
    )
    p.add_argument("--size", type=int, default=48)
    p.add_argument("--channels", type=int, default=1, choices=[1, 3])
    p.add_argument("--limit", type=int, help="only the first N photos")
    p.add_argument("--out", type=Path, help="folder to merge results into (metrics.json, report.md, PNG)")
    p.set_defaults(func=_cmd_bench)


def _cmd_bench(args) -> int:
    import json

    from training.bench import inference_benchmark, preprocessing_benchmark
    from training.report import update_metrics

    if not args.model and not args.photos:
        raise SystemExit("bench: give --model and/or --photos")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    if args.model:
        path, shape = args.model, None
        if path.suffix == ".json":
            card = json.loads(path.read_text())
            shape = (card["input"]["size"], card["input"]["size"], card["input"]["channels"])
            path = path.parent / card["file"]
        if shape is None:
            from ai_edge_litert.interpreter import Interpreter

            shape = tuple(int(v) for v in Interpreter(model_path=str(path)).get_input_details()[0]["shape"][1:])
        result = inference_benchmark(path, shape, args.threads)
        print(json.dumps(result, indent=2))
        if args.out:
            update_metrics(args.out, "inference", result)
    if args.photos:
        png = (args.out / "preprocessing_time.png") if args.out else None
        result = preprocessing_benchmark(args.photos, png, args.preprocessing, args.size, args.channels, args.limit)
        print(json.dumps(result, indent=2))
        if args.out:
            update_metrics(args.out, f"preprocessing_time_{'on' if args.preprocessing else 'off'}", result)
    return 0


_EXTRA_PARSERS: list = [_add_evaluate_parser, _add_export_parser, _add_compare_parser, _add_visualize_parser, _add_bench_parser]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
