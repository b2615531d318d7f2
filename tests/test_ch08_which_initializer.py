"""Checks behind chapter 8 (which initializer for which activation), fast versions of its cells.

The chapter's table comes from the two conditions of its Eq. (eq-ch8-conditions):
``sigma_w^2 = 1 / E[f(u)^2]`` keeps the forward signal, ``1 / E[f'(u)^2]`` the
backward gradient, ``u ~ N(0, 1)``. Here: the conditions give the known answers
where there is one (identity, ReLU, leaky ReLU), the tanh and sigmoid entries
have the order the text states, and the per-layer factor they predict matches a
wide network (the notebook's tolerance, 3%).
"""
import numpy as np
import pytest

import winit_edu as wi
from winit_edu.theory import gaussian_expectation_fine


def conditions(name):
    act = wi.get_activation(name)
    forward = 1 / gaussian_expectation_fine(lambda x: act.f(x) ** 2)
    backward = 1 / gaussian_expectation_fine(lambda x: act.df(x, act.f(x)) ** 2)
    return forward, backward


@pytest.mark.parametrize("name, expected", [("linear", 1.0), ("relu", 2.0), ("leaky_relu", 2 / (1 + 0.01**2))])
def test_forward_and_backward_conditions_agree_with_the_gain(name, expected):
    forward, backward = conditions(name)
    assert forward == pytest.approx(expected, rel=1e-3)
    assert backward == pytest.approx(expected, rel=1e-3)
    assert wi.calculate_gain(name) ** 2 == pytest.approx(expected, rel=1e-3)


def test_tanh_forward_condition_asks_for_more_than_the_backward_one():
    forward, backward = conditions("tanh")
    assert 1 < backward < forward < wi.calculate_gain("tanh") ** 2


def test_sigmoid_backward_condition_is_above_16():
    _, backward = conditions("sigmoid")
    assert backward > 16  # sigmoid' <= 1/4 everywhere


def test_selu_forward_condition_is_one():
    forward, _ = conditions("selu")
    assert forward == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("name", ["linear", "tanh", "sigmoid", "relu", "leaky_relu", "selu"])
def test_predicted_factor_matches_a_wide_network(name):
    X = np.random.default_rng(0).standard_normal((500, 1000))
    net = wi.MLP([1000, 1000, 1000, 10], activation=name, weight_init="lecun_normal", seeds=[0])
    trace = net.trace(X)
    q1, q2 = (np.mean(z**2) for z in trace.pre_activations[:2])
    predicted = wi.theory.second_moment_after(name, q1)  # sigma_w^2 = 1
    assert abs(q2 - predicted) / predicted < 0.03
