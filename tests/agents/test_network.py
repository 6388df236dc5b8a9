"""The node-scoring network (agents.network), its SB3 policies (agents.sb3_policy) and the learned node scorer
(agents.learned): permutation equivariance, independence of the node count and of padding, the SB3 policies on
the default environment, greedy actions that respect the mask, and loading saved models.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch as th
from sb3_contrib import MaskablePPO
from stable_baselines3 import A2C, PPO

from podgym.agents.learned import LearnedPolicy, load_scoring_net
from podgym.agents.network import EncodeOneNet, HeadOneNet, NodeScoringNet, ScoreOneNet, valid_rows
from podgym.agents.sb3_policy import MaskableNodeScoringPolicy, NodeScoringPolicy, greedy_action
from podgym.agents.vec_env import SB3VecEnv
from podgym.envs.env import PodSchedulingEnv
from podgym.envs.features import NUM_NODE_FEATURES, NUM_POD_FEATURES
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.scenario import load_and_build
from podgym.envs.simulator import Simulator
from podgym.envs.vector import PodSchedulingVectorEnv

SHORT = {"simulation.horizon": 1800}
DEFAULT_NODES = 24  # configs/scenarios/default.yaml


def random_net(hidden: int = 16, seed: int = 0) -> NodeScoringNet:
    th.manual_seed(seed)
    return NodeScoringNet(hidden).eval()


def random_inputs(n: int, batch: int = 1, seed: int = 1) -> tuple[th.Tensor, th.Tensor]:
    g = th.Generator().manual_seed(seed)
    nodes = th.rand(batch, n, NUM_NODE_FEATURES, generator=g) * 2 - 1
    nodes[..., 3] = th.rand(batch, n, generator=g) * 0.9 + 0.1  # cpu_size > 0: every row is a real node
    pod = th.rand(batch, NUM_POD_FEATURES, generator=g)
    return nodes, pod


def scores_of(net: NodeScoringNet, nodes: th.Tensor, pod: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
    with th.no_grad():
        return net.node_scores(nodes, pod, valid_rows(nodes))


def sb3_venv(num_envs: int = 2, **overrides) -> SB3VecEnv:
    venv = SB3VecEnv(PodSchedulingVectorEnv("default", num_envs=num_envs, overrides={**SHORT, **overrides}))
    venv.seed(0)
    return venv


# ---- NodeScoringNet ----------------------------------------------------------------------------------------------


def test_permuting_nodes_permutes_scores():
    net = random_net()
    nodes, pod = random_inputs(10, batch=3)
    scores, context = scores_of(net, nodes, pod)
    for seed in range(3):
        perm = th.randperm(10, generator=th.Generator().manual_seed(seed))
        permuted, permuted_context = scores_of(net, nodes[:, perm], pod)
        assert th.allclose(permuted, scores[:, perm], atol=1e-6)
        assert th.allclose(permuted_context, context, atol=1e-6)


def test_the_same_weights_score_any_node_count():
    net = random_net()
    for n in (1, 3, 300):
        nodes, pod = random_inputs(n)
        scores, context = scores_of(net, nodes, pod)
        assert scores.shape == (1, n) and context.shape == (1, 2 * net.hidden)
        assert th.isfinite(scores).all()


def test_padding_rows_change_neither_real_scores_nor_context():
    net = random_net()
    nodes, pod = random_inputs(3, batch=2)
    scores, context = scores_of(net, nodes, pod)
    padded = th.cat([nodes, th.zeros(2, 297, NUM_NODE_FEATURES)], dim=1)
    assert valid_rows(padded).sum(dim=1).tolist() == [3, 3]
    padded_scores, padded_context = scores_of(net, padded, pod)
    assert th.allclose(padded_scores[:, :3], scores, atol=1e-6)
    assert th.allclose(padded_context, context, atol=1e-6)
    # Padding in the middle (a failed node's zeroed row) is left out of the context too.
    middle = th.cat([nodes[:, :1], th.zeros(2, 5, NUM_NODE_FEATURES), nodes[:, 1:]], dim=1)
    middle_scores, middle_context = scores_of(net, middle, pod)
    assert th.allclose(middle_scores[:, [0, 6, 7]], scores, atol=1e-6)
    assert th.allclose(middle_context, context, atol=1e-6)


def test_all_padding_gives_a_zero_context():
    net = random_net()
    scores, context = scores_of(net, th.zeros(1, 4, NUM_NODE_FEATURES), th.rand(1, NUM_POD_FEATURES))
    assert th.isfinite(scores).all()
    assert th.equal(context, th.zeros_like(context))


def test_score_one_net_matches_node_scores():
    net = random_net()
    one = ScoreOneNet(net).eval()
    nodes, pod = random_inputs(7, batch=2)
    nodes[1, 5:] = 0.0  # padding in the second item
    scores, _ = scores_of(net, nodes, pod)
    with th.no_grad():
        for b in range(2):
            assert th.allclose(one(nodes[b], pod[b]), scores[b], atol=1e-6)
        assert th.allclose(one(nodes[1, :5], pod[1]), scores[1, :5], atol=1e-6)


def test_encoder_and_head_parts_compose_to_score_one_net():
    # The exported parts: φ per node, the pooled context in between, ψ on any subset of the rows.
    net = random_net()
    nodes, pod = random_inputs(9)
    nodes, pod = nodes[0], pod[0]
    nodes[3] = 0.0  # a failed node: out of the pooling
    with th.no_grad():
        h = EncodeOneNet(net)(nodes, pod)
        _, context = net.encode(nodes[None], pod[None], valid_rows(nodes[None]))
        expected = ScoreOneNet(net)(nodes, pod)
        assert h.shape == (9, net.hidden)
        assert th.allclose(HeadOneNet(net)(h, context[0]), expected, atol=1e-6)
        assert th.allclose(HeadOneNet(net)(h[[7, 2]], context[0]), expected[[7, 2]], atol=1e-6)


# ---- SB3 policies ------------------------------------------------------------------------------------------------


def logits_of(model, obs: dict[str, np.ndarray]) -> th.Tensor:
    obs_tensor, _ = model.policy.obs_to_tensor(obs)
    with th.no_grad():
        return model.policy.get_distribution(obs_tensor).distribution.logits


@pytest.mark.parametrize(
    ("algo", "policy"), [(MaskablePPO, MaskableNodeScoringPolicy), (PPO, NodeScoringPolicy), (A2C, NodeScoringPolicy)]
)
@pytest.mark.parametrize("pending", [False, True])
def test_sb3_policies_build_and_train_on_the_default_env(algo, policy, pending):
    venv = sb3_venv(**({"env.allow_pending": True} if pending else {}))
    n_actions = DEFAULT_NODES + (1 if pending else 0)
    assert venv.action_space.n == n_actions
    model = algo(policy, venv, n_steps=32, policy_kwargs={"hidden": 8}, seed=0, device="cpu")
    assert model.policy.mlp_extractor.with_pending is pending
    assert isinstance(model.policy.action_net, th.nn.Identity)
    # The optimizer holds exactly the parameters in use.
    in_optimizer = {id(p) for group in model.policy.optimizer.param_groups for p in group["params"]}
    assert in_optimizer == {id(p) for p in model.policy.parameters()}
    obs = venv.reset()
    logits = logits_of(model, obs)
    assert logits.shape == (2, n_actions)
    # The actor's logits are the network's node scores (plus "pending"), up to the softmax's constant.
    net = model.policy.scoring_net
    nodes, pod = th.as_tensor(obs["nodes"]), th.as_tensor(obs["pod"])
    with th.no_grad():
        scores, context = net.node_scores(nodes, pod, valid_rows(nodes))
        if pending:
            scores = th.cat([scores, net.pending_score(context, pod)[:, None]], dim=1)
    assert th.allclose(th.log_softmax(scores, dim=1), logits, atol=1e-5)
    model.learn(64)
    assert model.num_timesteps == 64
    venv.close()


def test_env_keyword_and_dotted_override_both_add_the_pending_action():
    for kwargs in ({"env": {"allow_pending": True}}, {"overrides": {"env.allow_pending": True}}):
        vector = PodSchedulingVectorEnv("default", num_envs=1, **kwargs)
        assert vector.single_action_space.n == DEFAULT_NODES + 1
        assert vector.envs[0].pending_action == DEFAULT_NODES


def test_padded_env_gives_padded_logits():
    venv = sb3_venv(num_envs=1, **{"env.max_nodes": 32})
    model = MaskablePPO(MaskableNodeScoringPolicy, venv, n_steps=32, policy_kwargs={"hidden": 8}, seed=0)
    obs = venv.reset()
    assert logits_of(model, obs).shape == (1, 32)
    assert not obs["action_mask"][0, DEFAULT_NODES:].any()
    assert greedy_action(model.policy.scoring_net, {k: v[0] for k, v in obs.items()}, False) < DEFAULT_NODES


# ---- greedy_action -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pending", [False, True])
def test_greedy_action_never_picks_a_masked_action(pending):
    net = random_net(hidden=8)
    env = PodSchedulingEnv("default", overrides={**SHORT, "env.allow_pending": pending})
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    nodes, pod = th.as_tensor(obs["nodes"][None]), th.as_tensor(obs["pod"][None])
    with th.no_grad():
        scores, context = net.node_scores(nodes, pod, valid_rows(nodes))
        if pending:
            scores = th.cat([scores, net.pending_score(context, pod)[:, None]], dim=1)
    scores = scores[0].numpy()
    top = int(np.argmax(scores))
    assert greedy_action(net, {**obs, "action_mask": np.ones_like(obs["action_mask"])}, pending) == top
    # The best-scoring action masked out: the best of the others.
    mask = np.ones_like(obs["action_mask"])
    mask[top] = 0
    second = int(np.argmax(np.where(mask.astype(bool), scores, -np.inf)))
    assert greedy_action(net, {**obs, "action_mask": mask}, pending) == second != top
    for _ in range(100):
        mask = (rng.random(len(scores)) < 0.2).astype(np.int8)
        mask[rng.integers(len(scores))] = 1
        a = greedy_action(net, {**obs, "action_mask": mask}, pending)
        assert mask[a] == 1
        assert scores[a] == scores[mask.astype(bool)].max()
    # Along an episode, every greedy action is allowed (the env flags invalid ones).
    for _ in range(40):
        obs, _, terminated, truncated, info = env.step(greedy_action(net, obs, pending))
        assert "invalid_action" not in info
        if terminated or truncated:
            break


# ---- LearnedPolicy -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A MaskablePPO model trained for 64 steps on the default scenario and saved with model.save."""
    venv = sb3_venv()
    model = MaskablePPO(
        MaskableNodeScoringPolicy, venv, n_steps=32, batch_size=64, policy_kwargs={"hidden": 8}, seed=0, device="cpu"
    )
    model.learn(64)
    path = tmp_path_factory.mktemp("model") / "model.zip"
    model.save(path)
    venv.close()
    return path, model


def test_learned_policy_scores_nodes_in_a_simulator_run(saved_model):
    path, model = saved_model
    policy = LearnedPolicy.load(path)
    assert policy.name == "learned:model.zip"
    assert policy.net.hidden == 8
    trained = model.policy.scoring_net.state_dict()
    for key, value in policy.net.state_dict().items():
        assert th.equal(value, trained[key]), key
    built = load_and_build("default", SHORT, seed=3)
    sim = Simulator(built.cluster, built.workload, built.options, built.profile, seed=3)
    summary = sim.run(policy)
    assert summary.pods_scheduled > 50
    assert summary.pods_scheduled + summary.pods_pending_at_end >= summary.pods_total - summary.pods_never_scheduled


def test_learned_policy_scores_what_the_trained_network_sees_in_the_env(saved_model):
    """The scorer's features (from the simulator) are the env's observation: same scores, same greedy choice."""
    path, model = saved_model
    policy = LearnedPolicy.load(path)
    net = model.policy.scoring_net
    env = PodSchedulingEnv("default", overrides=SHORT)
    obs, _ = env.reset(seed=5)
    policy.reset(env.sim)
    for _ in range(60):
        feasible = np.flatnonzero(obs["action_mask"][: env.num_nodes])
        scores = policy.score(env.sim.cluster, env.sim.request(env.pod), feasible)
        nodes, pod = th.as_tensor(obs["nodes"][None]), th.as_tensor(obs["pod"][None])
        with th.no_grad():
            expected, _ = net.node_scores(nodes, pod, valid_rows(nodes))
        np.testing.assert_allclose(scores, expected[0].numpy()[feasible], rtol=1e-5, atol=1e-6)
        action = greedy_action(net, obs, False)
        assert action == feasible[np.argmax(scores)]
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break


def test_exported_policy_scores_as_the_learned_one(saved_model, tmp_path):
    """export.py on a trained model writes policy.onnx, its parts and policy.json; the plugin's OnnxPolicy, on
    the parts, scores as LearnedPolicy (torch) along an episode, uncached and cached."""
    from podgym.agents.commands.export import main
    from podgym.policies.onnx import OnnxPolicy

    path, _ = saved_model
    assert main([str(path), "--out", str(tmp_path / "none")]) == 2  # a bare model: no scenario for the typical pods
    assert main([str(path), "--out", str(tmp_path), "--typical-pods", "default"]) == 0
    meta = json.loads((tmp_path / "policy.json").read_text())
    assert meta["hidden"] == 8 and set(meta["parts"]) == {"encoder", "pooling", "head"}
    assert meta["source"]["model"] == str(path)
    assert meta["typical_pods_from"] == {"source": "default", "seed": 0} and meta["typical_pods"]
    onnx = OnnxPolicy(tmp_path / "policy.onnx")
    learned = LearnedPolicy.load(path, typical=onnx.typical)  # the same typical pods: the same features
    assert onnx.uses_parts
    env = PodSchedulingEnv("default", overrides=SHORT)
    obs, _ = env.reset(seed=5)
    onnx.reset(env.sim)
    learned.reset(env.sim)
    for _ in range(40):
        feasible = np.flatnonzero(obs["action_mask"][: env.num_nodes])
        request = env.sim.request(env.pod)
        expected = learned.score(env.sim.cluster, request, feasible)
        for _ in range(2):  # the first time encoded for this request only, the second from the cache
            np.testing.assert_allclose(onnx.score(env.sim.cluster, request, feasible), expected, rtol=0, atol=1e-5)
        obs, _, terminated, truncated, _ = env.step(int(feasible[np.argmax(expected)]))
        if terminated or truncated:
            break


def test_learned_policy_loads_from_a_run_directory(saved_model, tmp_path):
    path, _ = saved_model
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "latest.zip").write_bytes(path.read_bytes())
    assert LearnedPolicy.load(run).net.hidden == 8
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(KubeObjectError, match="no model in run directory") as exc:
        LearnedPolicy.load(empty)
    assert str(empty) in str(exc.value)


def rewrite_policy(src, dst, change) -> None:
    """Copy a model zip, passing its policy.pth state dict through `change`."""
    with zipfile.ZipFile(src) as archive, zipfile.ZipFile(dst, "w") as out:
        for name in archive.namelist():
            data = archive.read(name)
            if name == "policy.pth":
                state = th.load(io.BytesIO(data), map_location="cpu", weights_only=True)
                buf = io.BytesIO()
                th.save(change(state), buf)
                data = buf.getvalue()
            out.writestr(name, data)


def test_a_model_with_another_feature_count_is_rejected(saved_model, tmp_path):
    path, _ = saved_model
    other = tmp_path / "other-features.zip"

    def more_features(state):
        key = "mlp_extractor.net.encoder.0.weight"
        hidden, inputs = state[key].shape
        return {**state, key: th.zeros(hidden, inputs + 3)}

    rewrite_policy(path, other, more_features)
    with pytest.raises(KubeObjectError, match="another feature layout") as exc:
        LearnedPolicy.load(other)
    assert str(other) in str(exc.value)
    assert f"{NUM_NODE_FEATURES + NUM_POD_FEATURES + 3} node+pod features" in str(exc.value)


@pytest.mark.parametrize("what", ["missing", "not-a-zip", "no-scoring-net"])
def test_unusable_model_files_name_the_file(saved_model, tmp_path, what):
    path, _ = saved_model
    bad = tmp_path / f"{what}.zip"
    if what == "not-a-zip":
        bad.write_text("not a model")
    elif what == "no-scoring-net":
        rewrite_policy(path, bad, lambda state: {k: v for k, v in state.items() if "mlp_extractor" not in k})
    words = {"missing": "not found", "not-a-zip": "not a podgym model", "no-scoring-net": "no node-scoring network"}
    with pytest.raises(KubeObjectError, match=words[what]) as exc:
        LearnedPolicy.load(bad)
    assert str(bad) in str(exc.value)
    with pytest.raises(KubeObjectError):
        load_scoring_net(bad)


def test_exported_typical_pods_of_an_openb_trace_are_the_fgd_experiments():
    """export.py --typical-pods TRACE.csv carries the typical pods the FGD experiment measures FGD against."""
    from podgym.agents.commands.export import export_typical_pods
    from podgym.envs.data import expand_data_dir
    from podgym.envs.fragmentation import typical_pods
    from podgym.envs.workload.openb import read_openb_pods

    trace = "${PODGYM_DATA}/openb/csv/openb_pod_list_default.csv"
    got = export_typical_pods(trace)
    assert got.to_json() == typical_pods(read_openb_pods(expand_data_dir(trace), times=False)).to_json()
    assert len(got) > 10
    with pytest.raises(KubeObjectError, match="no-such-scenario"):
        export_typical_pods("no-such-scenario")
