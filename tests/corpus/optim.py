# ruff: noqa: SIM108, F841, RUF059, RUF005  (student code, written the way students write it)
"""Student implementations of the optimizers of problem set 3 (and Adamax, NAdam, Lion from lecture 6).

Written from the exercise text and the lecture, the way students write them: their own state layouts,
loops, names and comments.  Not built from the mistake catalogue's code.
"""

import math

import numpy as np

from corpus import Correct, Wrong

# ---------------------------------------------------------------------------------------------------------
# optim.sgd
# ---------------------------------------------------------------------------------------------------------


def sgd_init_plain(theta):
    return {"step": 0}


def sgd_step_decay_not_times_lr(theta, grad, state, *, lr=1e-3, weight_decay=0.0):
    # decay the weights, then the gradient step
    new_theta = theta - weight_decay * theta - lr * grad
    return new_theta, {"step": state["step"] + 1}


def sgd_step_inplace(theta, grad, state, *, lr=1e-3, weight_decay=0.0):
    g = grad + weight_decay * theta
    theta -= lr * g  # update the parameters
    state["step"] += 1
    return theta, state


def sgd_step_ascent_loop(theta, grad, state, *, lr=1e-3, weight_decay=0.0):
    out = np.array(theta, copy=True)
    for i in range(out.size):
        # move along the gradient
        out.flat[i] = out.flat[i] + lr * (grad.flat[i] + weight_decay * theta.flat[i])
    return out, {"step": state["step"] + 1}


def sgd_step_no_decay(theta, grad, state, *, lr=1e-3, weight_decay=0.0):
    # TODO weight decay
    return theta - lr * grad, {"step": state["step"] + 1}


def sgd_step_np_float_lr(theta, grad, state, *, lr=1e-3, weight_decay=0.0):
    eta = np.float64(lr)  # make sure lr is a number
    g = grad + weight_decay * theta
    return theta - eta * g, {"step": state["step"] + 1}


def sgd_init_tuple(theta):
    return (0,)


def sgd_step_flat_loop(theta, grad, state, *, lr=1e-3, weight_decay=0.0):
    (t,) = state
    new = theta.copy()
    for i in range(new.size):
        new.flat[i] -= lr * (grad.flat[i] + weight_decay * theta.flat[i])
    return new, (t + 1,)


def sgd_step_shrink_form(theta, grad, state, *, lr=1e-3, weight_decay=0.0):
    # for SGD weight decay = shrink theta, then gradient step
    new_theta = (1 - lr * weight_decay) * theta - lr * grad
    return new_theta, {"step": state["step"] + 1}


# ---------------------------------------------------------------------------------------------------------
# optim.momentum
# ---------------------------------------------------------------------------------------------------------


def momentum_init_dict(theta):
    return {"step": 0, "v": np.zeros_like(theta)}


def momentum_step_ema(theta, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0):
    g = grad + weight_decay * theta
    # velocity = running average of the gradients
    v = momentum * state["v"] + (1 - momentum) * g
    return theta - lr * v, {"step": state["step"] + 1, "v": v}


def momentum_step_always_damped(theta, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0):
    g = grad + weight_decay * theta
    # v starts at 0 so no special first step needed
    v = momentum * state["v"] + (1 - dampening) * g
    return theta - lr * v, {"step": state["step"] + 1, "v": v}


def momentum_step_no_dampening(theta, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0):
    g = grad + weight_decay * theta
    v = momentum * state["v"] + g
    return theta - lr * v, {"step": state["step"] + 1, "v": v}


def momentum_step_decay_outside(theta, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0):
    t = state["step"] + 1
    if t == 1:
        v = grad.copy()
    else:
        v = momentum * state["v"] + (1 - dampening) * grad
    # weight decay on the parameters
    return theta - lr * (v + weight_decay * theta), {"step": t, "v": v}


def momentum_step_mutates_state(theta, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0):
    g = grad + weight_decay * theta
    state["step"] += 1
    v = state["v"]
    if state["step"] == 1:
        v[...] = g
    else:
        v *= momentum
        v += (1 - dampening) * g
    return theta - lr * v, state


def momentum_step_velocity_not_saved(theta, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0,
                                     weight_decay=0.0):
    g = grad + weight_decay * theta
    step = state["step"] + 1
    velocity = g if step == 1 else momentum * state["v"] + (1 - dampening) * g
    new_state = dict(state)
    new_state["step"] = step
    return theta - lr * velocity, new_state


def momentum_init_float64(theta):
    return {"step": 0, "v": np.zeros(np.shape(theta))}


def momentum_step_float64_state(theta, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0):
    g = grad + weight_decay * theta
    if state["step"] == 0:
        v = state["v"] + g
    else:
        v = momentum * state["v"] + (1 - dampening) * g
    return theta - lr * v, {"step": state["step"] + 1, "v": v}


def momentum_init_list(theta):
    return [0, None]


def momentum_step_list_state(theta, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0):
    step, buf = state
    d_p = grad
    if weight_decay != 0:
        d_p = d_p + weight_decay * theta
    if buf is None:  # first step: buffer = gradient
        buf = d_p.copy()
    else:
        buf = buf * momentum + d_p * (1 - dampening)
    return theta - lr * buf, [step + 1, buf]


class MomentumState:
    def __init__(self, step, velocity):
        self.step = step
        self.velocity = velocity


def momentum_init_class(theta):
    return MomentumState(0, np.zeros_like(theta))


def momentum_step_class_state(theta, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0):
    t = state.step + 1
    g = grad + weight_decay * theta
    if t > 1:
        g_in = (1.0 - dampening) * g
        vel = momentum * state.velocity + g_in
    else:
        vel = g
    new_theta = theta.copy()
    new_theta -= lr * vel  # on my own copy, fine
    return new_theta, MomentumState(t, vel)


# ---------------------------------------------------------------------------------------------------------
# optim.nesterov
# ---------------------------------------------------------------------------------------------------------


def nesterov_init_dict(theta):
    return {"step": 0, "v": np.zeros_like(theta)}


def nesterov_step_heavy_ball(theta, grad, state, *, lr=1e-3, momentum=0.9, weight_decay=0.0):
    g = grad + weight_decay * theta
    v = momentum * state["v"] + g
    return theta - lr * v, {"step": state["step"] + 1, "v": v}


def nesterov_step_lookahead_buffer(theta, grad, state, *, lr=1e-3, momentum=0.9, weight_decay=0.0):
    g = grad + weight_decay * theta
    v = momentum * state["v"] + g
    # look ahead: go one more momentum*v
    return theta - lr * (v + momentum * v), {"step": state["step"] + 1, "v": v}


def nesterov_step_old_velocity(theta, grad, state, *, lr=1e-3, momentum=0.9, weight_decay=0.0):
    g = grad + weight_decay * theta
    v_old = state["v"]
    update = g + momentum * v_old  # look-ahead with the velocity we have
    v_new = momentum * v_old + g
    return theta - lr * update, {"step": state["step"] + 1, "v": v_new}


def nesterov_step_no_decay(theta, grad, state, *, lr=1e-3, momentum=0.9, weight_decay=0.0):
    v = momentum * state["v"] + grad
    return theta - lr * (grad + momentum * v), {"step": state["step"] + 1, "v": v}


def nesterov_step_ema(theta, grad, state, *, lr=1e-3, momentum=0.9, weight_decay=0.0):
    g = grad + weight_decay * theta
    v = momentum * state["v"] + (1 - momentum) * g
    return theta - lr * (g + momentum * v), {"step": state["step"] + 1, "v": v}


def nesterov_init_tuple(theta):
    return (0, np.zeros_like(theta))


def nesterov_step_expanded(theta, grad, state, *, lr=1e-3, momentum=0.9, weight_decay=0.0):
    k, buf = state
    g = grad + weight_decay * theta
    buf = momentum * buf + g
    # theta - lr*(g + mu*buf)  written out in two parts
    new_theta = theta - lr * g - lr * momentum * buf
    return new_theta, (k + 1, buf)


# ---------------------------------------------------------------------------------------------------------
# optim.adagrad
# ---------------------------------------------------------------------------------------------------------


def adagrad_init_dict(theta):
    return {"step": 0, "sum": np.zeros_like(theta)}


def adagrad_step_ema(theta, grad, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                     eps=1e-10):
    t = state["step"] + 1
    g = grad + weight_decay * theta
    G = state["sum"]
    if t == 1:
        G = G + initial_accumulator_value
    G = 0.99 * G + 0.01 * g * g  # running average of g^2
    clr = lr / (1 + (t - 1) * lr_decay)
    return theta - clr * g / (np.sqrt(G) + eps), {"step": t, "sum": G}


def adagrad_step_eps_in_root(theta, grad, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                             initial_accumulator_value=0.0, eps=1e-10):
    t = state["step"] + 1
    g = grad + weight_decay * theta
    G = state["sum"] + g**2
    if t == 1:
        G = G + initial_accumulator_value
    clr = lr / (1 + (t - 1) * lr_decay)
    # eta / sqrt(G + eps) like on the slides
    return theta - clr / np.sqrt(G + eps) * g, {"step": t, "sum": G}


def adagrad_step_decay_from_t(theta, grad, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                              initial_accumulator_value=0.0, eps=1e-10):
    t = state["step"] + 1
    g = grad + weight_decay * theta
    acc = state["sum"] + g * g
    if t == 1:
        acc += initial_accumulator_value
    step_size = lr / (1 + t * lr_decay)
    return theta - step_size * g / (np.sqrt(acc) + eps), {"step": t, "sum": acc}


def adagrad_step_no_initial_value(theta, grad, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                                  initial_accumulator_value=0.0, eps=1e-10):
    t = state["step"] + 1
    g = grad + weight_decay * theta
    acc = state["sum"] + g * g
    step_size = lr / (1 + (t - 1) * lr_decay)
    return theta - step_size * g / (np.sqrt(acc) + eps), {"step": t, "sum": acc}


def adagrad_step_initial_every_step(theta, grad, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                                    initial_accumulator_value=0.0, eps=1e-10):
    t = state["step"] + 1
    g = grad + weight_decay * theta
    # G_t = G_0 + G_{t-1} + g^2
    G = initial_accumulator_value + state["sum"] + g**2
    step_size = lr / (1 + (t - 1) * lr_decay)
    return theta - step_size * g / (np.sqrt(G) + eps), {"step": t, "sum": G}


def adagrad_step_no_lr_decay(theta, grad, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                             initial_accumulator_value=0.0, eps=1e-10):
    g = grad + weight_decay * theta
    if state["step"] == 0:
        G = state["sum"] + initial_accumulator_value + g**2
    else:
        G = state["sum"] + g**2
    return theta - lr * g / (np.sqrt(G) + eps), {"step": state["step"] + 1, "sum": G}


def adagrad_init_float64(theta):
    return {"step": 0, "sum": np.zeros(theta.shape)}


def adagrad_step_float64_sum(theta, grad, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                             initial_accumulator_value=0.0, eps=1e-10):
    t = state["step"] + 1
    g = grad + weight_decay * theta
    G = state["sum"] + g * g
    if t == 1:
        G = G + initial_accumulator_value
    return theta - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(G) + eps), {"step": t, "sum": G}


def adagrad_step_grad_aliased(theta, grad, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                              initial_accumulator_value=0.0, eps=1e-10):
    t = state["step"] + 1
    g = grad
    if weight_decay != 0:
        g += weight_decay * theta  # L2 term
    G = state["sum"] + g * g
    if t == 1:
        G = G + initial_accumulator_value
    clr = lr / (1 + (t - 1) * lr_decay)
    return theta - clr * g / (np.sqrt(G) + eps), {"step": t, "sum": G}


def adagrad_init_lazy(theta):
    return (0, None)


def adagrad_step_lazy_accumulator(theta, grad, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                                  initial_accumulator_value=0.0, eps=1e-10):
    t, G = state
    t += 1
    if G is None:  # first call: start the sum at its initial value
        G = np.full_like(theta, initial_accumulator_value)
    if weight_decay:
        grad = grad + weight_decay * theta
    G = G + np.square(grad)
    lr_t = lr / (1.0 + (t - 1) * lr_decay)
    return theta - lr_t * grad / (np.sqrt(G) + eps), (t, G)


def adagrad_step_elementwise(theta, grad, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                             initial_accumulator_value=0.0, eps=1e-10):
    t = state["step"] + 1
    new_theta = np.copy(theta)
    new_sum = np.copy(state["sum"])
    clr = lr / (1 + (t - 1) * lr_decay)
    for i in np.ndindex(theta.shape):
        gi = grad[i] + weight_decay * theta[i]
        if t == 1:
            new_sum[i] += initial_accumulator_value
        new_sum[i] += gi * gi
        new_theta[i] -= clr * gi / (np.sqrt(new_sum[i]) + eps)
    return new_theta, {"step": t, "sum": new_sum}


# ---------------------------------------------------------------------------------------------------------
# optim.rmsprop
# ---------------------------------------------------------------------------------------------------------


def rmsprop_init_dict(theta):
    z = np.zeros_like(theta)
    return {"step": 0, "square_avg": z, "grad_avg": z.copy(), "buffer": z.copy()}


def rmsprop_step_alpha_swapped(theta, grad, state, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                               momentum=0.0, centered=False):
    g = grad + weight_decay * theta
    sq = (1 - alpha) * state["square_avg"] + alpha * g * g
    ga = (1 - alpha) * state["grad_avg"] + alpha * g
    denom = (np.sqrt(sq - ga * ga) if centered else np.sqrt(sq)) + eps
    buf = momentum * state["buffer"] + g / denom
    new_theta = theta - lr * buf if momentum > 0 else theta - lr * g / denom
    return new_theta, {"step": state["step"] + 1, "square_avg": sq, "grad_avg": ga, "buffer": buf}


def rmsprop_step_no_root(theta, grad, state, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                         momentum=0.0, centered=False):
    g = grad + weight_decay * theta
    sq = alpha * state["square_avg"] + (1 - alpha) * g * g
    ga = alpha * state["grad_avg"] + (1 - alpha) * g
    denom = (sq - ga * ga if centered else sq) + eps  # divide by the mean square
    buf = momentum * state["buffer"] + g / denom
    new_theta = theta - lr * buf if momentum > 0 else theta - lr * g / denom
    return new_theta, {"step": state["step"] + 1, "square_avg": sq, "grad_avg": ga, "buffer": buf}


def rmsprop_step_eps_in_root(theta, grad, state, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                             momentum=0.0, centered=False):
    g = grad + weight_decay * theta
    sq = alpha * state["square_avg"] + (1 - alpha) * g * g
    ga = alpha * state["grad_avg"] + (1 - alpha) * g
    if centered:
        denom = np.sqrt(sq - ga * ga + eps)
    else:
        denom = np.sqrt(sq + eps)
    buf = momentum * state["buffer"] + g / denom
    new_theta = theta - lr * buf if momentum > 0 else theta - lr * g / denom
    return new_theta, {"step": state["step"] + 1, "square_avg": sq, "grad_avg": ga, "buffer": buf}


def rmsprop_step_not_centered(theta, grad, state, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                              momentum=0.0, centered=False):
    g = grad + weight_decay * theta
    sq = alpha * state["square_avg"] + (1 - alpha) * g * g
    denom = np.sqrt(sq) + eps
    if momentum > 0:
        buf = momentum * state["buffer"] + g / denom
        new_theta = theta - lr * buf
    else:
        buf = state["buffer"]
        new_theta = theta - lr * g / denom
    return new_theta, {"step": state["step"] + 1, "square_avg": sq, "grad_avg": state["grad_avg"], "buffer": buf}


def rmsprop_step_momentum_raw(theta, grad, state, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                              momentum=0.0, centered=False):
    g = grad + weight_decay * theta
    sq = alpha * state["square_avg"] + (1 - alpha) * g * g
    ga = alpha * state["grad_avg"] + (1 - alpha) * g
    denom = (np.sqrt(sq - ga * ga) if centered else np.sqrt(sq)) + eps
    # classic momentum on the gradient, then rmsprop scaling
    buf = momentum * state["buffer"] + g
    new_theta = theta - lr * buf / denom
    return new_theta, {"step": state["step"] + 1, "square_avg": sq, "grad_avg": ga, "buffer": buf}


def rmsprop_step_alpha_hardcoded(theta, grad, state, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                                 momentum=0.0, centered=False):
    gamma = 0.9  # the slides say 0.9
    g = grad + weight_decay * theta
    sq = gamma * state["square_avg"] + (1 - gamma) * g * g
    ga = gamma * state["grad_avg"] + (1 - gamma) * g
    denom = (np.sqrt(sq - ga * ga) if centered else np.sqrt(sq)) + eps
    buf = momentum * state["buffer"] + g / denom
    new_theta = theta - lr * buf if momentum > 0 else theta - lr * g / denom
    return new_theta, {"step": state["step"] + 1, "square_avg": sq, "grad_avg": ga, "buffer": buf}


def rmsprop_step_no_momentum(theta, grad, state, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                             momentum=0.0, centered=False):
    g = grad + weight_decay * theta
    sq = alpha * state["square_avg"] + (1 - alpha) * g * g
    ga = alpha * state["grad_avg"] + (1 - alpha) * g
    denom = (np.sqrt(sq - ga * ga) if centered else np.sqrt(sq)) + eps
    return theta - lr * g / denom, {"step": state["step"] + 1, "square_avg": sq, "grad_avg": ga,
                                    "buffer": state["buffer"]}


def rmsprop_step_inplace_avg(theta, grad, state, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                             momentum=0.0, centered=False):
    g = grad + weight_decay * theta
    new_state = dict(state)  # new dict, so the old state is safe (?)
    sq = new_state["square_avg"]
    sq *= alpha
    sq += (1 - alpha) * g * g
    ga = new_state["grad_avg"]
    if centered:
        ga *= alpha
        ga += (1 - alpha) * g
        denom = np.sqrt(sq - ga * ga) + eps
    else:
        denom = np.sqrt(sq) + eps
    if momentum > 0:
        buf = new_state["buffer"]
        buf *= momentum
        buf += g / denom
        new_theta = theta - lr * buf
    else:
        new_theta = theta - lr * g / denom
    new_state["step"] += 1
    return new_theta, new_state


def rmsprop_init_tuple(theta):
    return (0, np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta))


def rmsprop_step_tuple_state(theta, grad, state, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                             momentum=0.0, centered=False):
    n, mean_sq, mean_g, mom = state
    if weight_decay != 0:
        grad = grad + weight_decay * theta
    mean_sq = alpha * mean_sq + (1 - alpha) * grad**2
    if centered:
        mean_g = alpha * mean_g + (1 - alpha) * grad
        avg = np.sqrt(mean_sq - mean_g**2)
    else:
        avg = np.sqrt(mean_sq)
    avg = avg + eps
    if momentum > 0:
        mom = momentum * mom + grad / avg
        theta = theta - lr * mom
    else:
        theta = theta - lr * grad / avg
    return theta, (n + 1, mean_sq, mean_g, mom)


def rmsprop_init_lerp(theta):
    return {"t": 0, "E_g2": np.zeros_like(theta), "E_g": np.zeros_like(theta), "b": np.zeros_like(theta)}


def rmsprop_step_lerp_form(theta, grad, state, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                           momentum=0.0, centered=False):
    g = grad + weight_decay * theta
    # moving average written as "move a fraction (1 - alpha) toward the new value"
    E_g2 = state["E_g2"] + (1 - alpha) * (g * g - state["E_g2"])
    E_g = state["E_g"] + (1 - alpha) * (g - state["E_g"]) if centered else state["E_g"]
    var = E_g2 - E_g * E_g if centered else E_g2
    scaled = g / (np.sqrt(var) + eps)
    b = momentum * state["b"] + scaled if momentum > 0 else state["b"]
    update = b if momentum > 0 else scaled
    return theta - lr * update, {"t": state["t"] + 1, "E_g2": E_g2, "E_g": E_g, "b": b}


# ---------------------------------------------------------------------------------------------------------
# optim.adadelta
# ---------------------------------------------------------------------------------------------------------


def adadelta_init_dict(theta):
    return {"step": 0, "square_avg": np.zeros_like(theta), "acc_delta": np.zeros_like(theta)}


def adadelta_step_paper_no_lr(theta, grad, state, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    g = grad + weight_decay * theta
    s = rho * state["square_avg"] + (1 - rho) * g**2
    delta = np.sqrt(state["acc_delta"] + eps) / np.sqrt(s + eps) * g
    u = rho * state["acc_delta"] + (1 - rho) * delta**2
    # Adadelta has no learning rate (Zeiler)
    return theta - delta, {"step": state["step"] + 1, "square_avg": s, "acc_delta": u}


def adadelta_step_eps_outside(theta, grad, state, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    g = grad + weight_decay * theta
    s = rho * state["square_avg"] + (1 - rho) * g**2
    delta = (np.sqrt(state["acc_delta"]) + eps) / (np.sqrt(s) + eps) * g
    u = rho * state["acc_delta"] + (1 - rho) * delta**2
    return theta - lr * delta, {"step": state["step"] + 1, "square_avg": s, "acc_delta": u}


def adadelta_step_scaled_acc(theta, grad, state, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    g = grad + weight_decay * theta
    s = rho * state["square_avg"] + (1 - rho) * g**2
    step = lr * np.sqrt(state["acc_delta"] + eps) / np.sqrt(s + eps) * g
    u = rho * state["acc_delta"] + (1 - rho) * step**2  # remember the actual update
    return theta - step, {"step": state["step"] + 1, "square_avg": s, "acc_delta": u}


def adadelta_step_rho_swapped(theta, grad, state, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    g = grad + weight_decay * theta
    s = (1 - rho) * state["square_avg"] + rho * g**2
    delta = np.sqrt(state["acc_delta"] + eps) / np.sqrt(s + eps) * g
    u = (1 - rho) * state["acc_delta"] + rho * delta**2
    return theta - lr * delta, {"step": state["step"] + 1, "square_avg": s, "acc_delta": u}


def adadelta_step_acc_not_kept(theta, grad, state, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    g = grad + weight_decay * theta
    s = rho * state["square_avg"] + (1 - rho) * g**2
    delta = np.sqrt(state["acc_delta"] + eps) / np.sqrt(s + eps) * g
    u = rho * state["acc_delta"] + (1 - rho) * delta**2
    # store both averages
    return theta - lr * delta, {"step": state["step"] + 1, "square_avg": s, "acc_delta": state["acc_delta"]}


def adadelta_init_tuple(theta):
    return (0, np.zeros_like(theta), np.zeros_like(theta))


def adadelta_step_ratio_root(theta, grad, state, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    k, Eg2, Edx2 = state
    if weight_decay > 0:
        grad = grad + weight_decay * theta
    Eg2 = rho * Eg2 + (1.0 - rho) * grad * grad
    # RMS[dx]_{t-1} / RMS[g]_t in one root
    dx = np.sqrt((Edx2 + eps) / (Eg2 + eps)) * grad
    Edx2 = rho * Edx2 + (1.0 - rho) * dx * dx
    return theta - lr * dx, (k + 1, Eg2, Edx2)


# ---------------------------------------------------------------------------------------------------------
# optim.adam
# ---------------------------------------------------------------------------------------------------------


def adam_init_dict(theta):
    return {"step": 0, "m": np.zeros_like(theta), "v": np.zeros_like(theta)}


def adam_step_loop_no_bias(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    new_theta = theta.copy()
    m = state["m"].copy()
    v = state["v"].copy()
    for i in range(theta.size):
        g = grad.flat[i] + weight_decay * theta.flat[i]
        m.flat[i] = b1 * m.flat[i] + (1 - b1) * g
        v.flat[i] = b2 * v.flat[i] + (1 - b2) * g * g
        new_theta.flat[i] = theta.flat[i] - lr * m.flat[i] / (np.sqrt(v.flat[i]) + eps)
    return new_theta, {"step": state["step"] + 1, "m": m, "v": v}


def adam_step_macau(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g**2
    # (bias correction left out for clarity)
    return theta - lr * m / np.sqrt(v + eps), {"step": state["step"] + 1, "m": m, "v": v}


def adam_step_t_from_zero(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["step"]
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), {"step": t + 1, "m": m, "v": v}


def adam_step_counter_forgotten(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    new_state = {"step": state["step"], "m": m, "v": v}
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), new_state


def adam_step_betas_swapped(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta2, beta1 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), {"step": t, "m": m, "v": v}


def adam_step_decoupled_decay(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["step"] + 1
    theta_decayed = theta * (1 - lr * weight_decay)
    m = beta1 * state["m"] + (1 - beta1) * grad
    v = beta2 * state["v"] + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta_decayed - lr * m_hat / (np.sqrt(v_hat) + eps), {"step": t, "m": m, "v": v}


def adam_step_eps_then_correct(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g**2
    ratio = m / (np.sqrt(v) + eps)
    # correct the bias of the whole ratio
    ratio = ratio * math.sqrt(1 - beta2**t) / (1 - beta1**t)
    return theta - lr * ratio, {"step": t, "m": m, "v": v}


def adam_step_inplace_moments(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    m, v = state["m"], state["v"]
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), {"step": t, "m": m, "v": v}


def adam_step_np_power(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * np.square(g)
    m_hat = m / (1 - np.power(beta1, t))
    v_hat = v / (1 - np.power(beta2, t))
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), {"step": t, "m": m, "v": v}


def adam_step_eps_fixed(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + 1e-8), {"step": t, "m": m, "v": v}


def adam_step_no_root(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * m_hat / (v_hat + eps), {"step": t, "m": m, "v": v}


def adam_step_no_decay(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["step"] + 1
    g = grad  # weight decay is 0 anyway
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), {"step": t, "m": m, "v": v}


def adam_init_list(theta):
    return [0, np.zeros_like(theta), np.zeros_like(theta)]


def adam_step_folded_lr(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    # Kingma & Ba section 2: fold the bias corrections into the step size (and eps accordingly)
    t, m, v = state
    t = t + 1
    b1, b2 = betas
    if weight_decay:
        grad = grad + weight_decay * theta
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    c2 = math.sqrt(1 - b2**t)
    alpha_t = lr * c2 / (1 - b1**t)
    return theta - alpha_t * m / (np.sqrt(v) + eps * c2), [t, m, v]


def adam_step_copies_inplace(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    g = grad.copy()
    g += weight_decay * theta
    m = state["m"].copy()
    m *= beta1
    m += (1 - beta1) * g
    v = state["v"].copy()
    v *= beta2
    v += (1 - beta2) * g * g
    t = state["step"] + 1
    denom = np.sqrt(v / (1 - beta2**t))
    denom += eps
    out = theta.copy()
    out -= lr / (1 - beta1**t) * m / denom
    return out, {"step": t, "m": m, "v": v}


# ---------------------------------------------------------------------------------------------------------
# optim.adamw
# ---------------------------------------------------------------------------------------------------------


def adamw_init_dict(theta):
    return {"step": 0, "m": np.zeros_like(theta), "v": np.zeros_like(theta)}


def adamw_step_l2(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    b1, b2 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    m = b1 * state["m"] + (1 - b1) * g
    v = b2 * state["v"] + (1 - b2) * g * g
    mh, vh = m / (1 - b1**t), v / (1 - b2**t)
    return theta - lr * mh / (np.sqrt(vh) + eps), {"step": t, "m": m, "v": v}


def adamw_step_decay_last(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    b1, b2 = betas
    t = state["step"] + 1
    m = b1 * state["m"] + (1 - b1) * grad
    v = b2 * state["v"] + (1 - b2) * grad * grad
    mh, vh = m / (1 - b1**t), v / (1 - b2**t)
    new_theta = theta - lr * mh / (np.sqrt(vh) + eps)
    new_theta = new_theta * (1 - lr * weight_decay)  # then weight decay
    return new_theta, {"step": t, "m": m, "v": v}


def adamw_step_decay_no_lr(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    b1, b2 = betas
    t = state["step"] + 1
    m = b1 * state["m"] + (1 - b1) * grad
    v = b2 * state["v"] + (1 - b2) * grad * grad
    mh, vh = m / (1 - b1**t), v / (1 - b2**t)
    return theta * (1 - weight_decay) - lr * mh / (np.sqrt(vh) + eps), {"step": t, "m": m, "v": v}


def adamw_step_uncorrected(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    b1, b2 = betas
    m = b1 * state["m"] + (1 - b1) * grad
    v = b2 * state["v"] + (1 - b2) * grad * grad
    new_theta = theta - lr * weight_decay * theta - lr * m / (np.sqrt(v) + eps)
    return new_theta, {"step": state["step"] + 1, "m": m, "v": v}


def adamw_step_eps_in_root(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    b1, b2 = betas
    t = state["step"] + 1
    m = b1 * state["m"] + (1 - b1) * grad
    v = b2 * state["v"] + (1 - b2) * grad * grad
    mh, vh = m / (1 - b1**t), v / (1 - b2**t)
    return theta * (1 - lr * weight_decay) - lr * mh / np.sqrt(vh + eps), {"step": t, "m": m, "v": v}


def adamw_step_decay_forgotten(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    b1, b2 = betas
    t = state["step"] + 1
    m = b1 * state["m"] + (1 - b1) * grad
    v = b2 * state["v"] + (1 - b2) * grad * grad
    mh, vh = m / (1 - b1**t), v / (1 - b2**t)
    return theta - lr * mh / (np.sqrt(vh) + eps), {"step": t, "m": m, "v": v}


def adamw_init_tuple(theta):
    return 0, np.zeros_like(theta), np.zeros_like(theta)


def adamw_step_two_terms(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    t, exp_avg, exp_avg_sq = state
    t += 1
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad
    m_hat = exp_avg / (1 - beta1**t)
    v_hat = exp_avg_sq / (1 - beta2**t)
    # decoupled: the decay term and the adam term, both times lr, both from the old theta
    new_theta = theta - lr * (m_hat / (np.sqrt(v_hat) + eps) + weight_decay * theta)
    return new_theta, (t, exp_avg, exp_avg_sq)


# ---------------------------------------------------------------------------------------------------------
# optim.adamax
# ---------------------------------------------------------------------------------------------------------


def adamax_init_dict(theta):
    return {"step": 0, "exp_avg": np.zeros_like(theta), "exp_inf": np.zeros_like(theta)}


def adamax_step_uncorrected(theta, grad, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    g = grad + weight_decay * theta
    m = b1 * state["exp_avg"] + (1 - b1) * g
    u = np.maximum(b2 * state["exp_inf"], np.abs(g) + eps)
    return theta - lr * m / u, {"step": state["step"] + 1, "exp_avg": m, "exp_inf": u}


def adamax_step_both_corrected(theta, grad, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    m = b1 * state["exp_avg"] + (1 - b1) * g
    u = np.maximum(b2 * state["exp_inf"], np.abs(g) + eps)
    m_hat = m / (1 - b1**t)
    u_hat = u / (1 - b2**t)  # same as adam
    return theta - lr * m_hat / u_hat, {"step": t, "exp_avg": m, "exp_inf": u}


def adamax_step_eps_added_after(theta, grad, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    m = b1 * state["exp_avg"] + (1 - b1) * g
    u = np.maximum(b2 * state["exp_inf"], np.abs(g))
    return theta - lr / (1 - b1**t) * m / (u + eps), {"step": t, "exp_avg": m, "exp_inf": u}


def adamax_step_max_not_decayed(theta, grad, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    m = b1 * state["exp_avg"] + (1 - b1) * g
    u = np.maximum(state["exp_inf"], np.abs(g) + eps)  # infinity norm = largest |g| so far
    return theta - lr / (1 - b1**t) * m / u, {"step": t, "exp_avg": m, "exp_inf": u}


def adamax_step_paper_no_eps(theta, grad, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    # Algorithm 2 of the paper
    b1, b2 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    m = b1 * state["exp_avg"] + (1 - b1) * g
    u = np.maximum(b2 * state["exp_inf"], np.abs(g))
    return theta - (lr / (1 - b1**t)) * m / u, {"step": t, "exp_avg": m, "exp_inf": u}


def adamax_init_list(theta):
    return [0, np.zeros_like(theta), np.zeros_like(theta)]


def adamax_step_loop(theta, grad, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    t, m, u = state
    t += 1
    beta1, beta2 = betas
    m = m.copy()
    u = u.copy()
    new_theta = theta.copy()
    step_size = lr / (1 - beta1**t)
    for idx in np.ndindex(theta.shape):
        gi = grad[idx] + weight_decay * theta[idx]
        m[idx] = beta1 * m[idx] + (1 - beta1) * gi
        u[idx] = max(beta2 * u[idx], abs(gi) + eps)
        new_theta[idx] = theta[idx] - step_size * m[idx] / u[idx]
    return new_theta, [t, m, u]


# ---------------------------------------------------------------------------------------------------------
# optim.nadam
# ---------------------------------------------------------------------------------------------------------


def nadam_init_dict(theta):
    return {"step": 0, "mu_product": 1.0, "exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}


def nadam_step_dozat_simple(theta, grad, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                            momentum_decay=4e-3, decoupled_weight_decay=False):
    b1, b2 = betas
    t = state["step"] + 1
    if decoupled_weight_decay:
        theta = theta * (1 - lr * weight_decay)
        g = grad
    else:
        g = grad + weight_decay * theta
    m = b1 * state["exp_avg"] + (1 - b1) * g
    v = b2 * state["exp_avg_sq"] + (1 - b2) * g * g
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    # nesterov: look ahead with the current gradient
    m_bar = b1 * m_hat + (1 - b1) * g / (1 - b1**t)
    new_state = {"step": t, "mu_product": state["mu_product"], "exp_avg": m, "exp_avg_sq": v}
    return theta - lr * m_bar / (np.sqrt(v_hat) + eps), new_state


def nadam_step_constant_mu(theta, grad, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                           momentum_decay=4e-3, decoupled_weight_decay=False):
    b1, b2 = betas
    t = state["step"] + 1
    if decoupled_weight_decay:
        theta = theta * (1 - lr * weight_decay)
        g = grad
    else:
        g = grad + weight_decay * theta
    mu = b1  # mu_t is just beta1
    mu_next = b1
    prod = state["mu_product"] * mu
    m = b1 * state["exp_avg"] + (1 - b1) * g
    v = b2 * state["exp_avg_sq"] + (1 - b2) * g * g
    d = np.sqrt(v / (1 - b2**t)) + eps
    new_theta = theta - lr * (1 - mu) / (1 - prod) * g / d - lr * mu_next / (1 - prod * mu_next) * m / d
    return new_theta, {"step": t, "mu_product": prod, "exp_avg": m, "exp_avg_sq": v}


def nadam_step_eps_in_root(theta, grad, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                           momentum_decay=4e-3, decoupled_weight_decay=False):
    b1, b2 = betas
    t = state["step"] + 1
    if decoupled_weight_decay:
        theta = theta * (1 - lr * weight_decay)
        g = grad
    else:
        g = grad + weight_decay * theta
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    prod = state["mu_product"] * mu
    m = b1 * state["exp_avg"] + (1 - b1) * g
    v = b2 * state["exp_avg_sq"] + (1 - b2) * g * g
    d = np.sqrt(v / (1 - b2**t) + eps)
    new_theta = theta - lr * (1 - mu) / (1 - prod) * g / d - lr * mu_next / (1 - prod * mu_next) * m / d
    return new_theta, {"step": t, "mu_product": prod, "exp_avg": m, "exp_avg_sq": v}


def nadam_step_always_l2(theta, grad, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                         momentum_decay=4e-3, decoupled_weight_decay=False):
    b1, b2 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    prod = state["mu_product"] * mu
    m = b1 * state["exp_avg"] + (1 - b1) * g
    v = b2 * state["exp_avg_sq"] + (1 - b2) * g * g
    d = np.sqrt(v / (1 - b2**t)) + eps
    new_theta = theta - lr * (1 - mu) / (1 - prod) * g / d - lr * mu_next / (1 - prod * mu_next) * m / d
    return new_theta, {"step": t, "mu_product": prod, "exp_avg": m, "exp_avg_sq": v}


def nadam_step_product_as_power(theta, grad, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                                momentum_decay=4e-3, decoupled_weight_decay=False):
    b1, b2 = betas
    t = state["step"] + 1
    if decoupled_weight_decay:
        theta = theta * (1 - lr * weight_decay)
        g = grad
    else:
        g = grad + weight_decay * theta
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    prod = mu**t  # product of t mus
    m = b1 * state["exp_avg"] + (1 - b1) * g
    v = b2 * state["exp_avg_sq"] + (1 - b2) * g * g
    d = np.sqrt(v / (1 - b2**t)) + eps
    new_theta = theta - lr * (1 - mu) / (1 - prod) * g / d - lr * mu_next / (1 - prod * mu_next) * m / d
    return new_theta, {"step": t, "mu_product": prod, "exp_avg": m, "exp_avg_sq": v}


def nadam_init_list(theta):
    return [0, [], np.zeros_like(theta), np.zeros_like(theta)]


def nadam_step_mu_history(theta, grad, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                          momentum_decay=4e-3, decoupled_weight_decay=False):
    # keep every mu_t in a list, the product is recomputed each time
    t, mus, m, v = state
    t += 1
    beta1, beta2 = betas
    if decoupled_weight_decay:
        theta = (1 - lr * weight_decay) * theta
    elif weight_decay != 0:
        grad = grad + weight_decay * theta
    mus = mus + [beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))]
    mu_t = mus[-1]
    mu_t1 = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    P = math.prod(mus)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    denom = np.sqrt(v / (1 - beta2**t)) + eps
    coef_g = lr * (1 - mu_t) / (1 - P)
    coef_m = lr * mu_t1 / (1 - P * mu_t1)
    return theta - (coef_g * grad + coef_m * m) / denom, [t, mus, m, v]


# ---------------------------------------------------------------------------------------------------------
# optim.lion
# ---------------------------------------------------------------------------------------------------------


def lion_init_dict(theta):
    return {"step": 0, "exp_avg": np.zeros_like(theta)}


def lion_step_sign_of_new_m(theta, grad, state, *, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    b1, b2 = betas
    m = b2 * state["exp_avg"] + (1 - b2) * grad
    new_theta = theta - lr * (np.sign(m) + weight_decay * theta)
    return new_theta, {"step": state["step"] + 1, "exp_avg": m}


def lion_step_betas_swapped(theta, grad, state, *, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    b2, b1 = betas
    c = b1 * state["exp_avg"] + (1 - b1) * grad
    new_theta = theta - lr * (np.sign(c) + weight_decay * theta)
    m = b2 * state["exp_avg"] + (1 - b2) * grad
    return new_theta, {"step": state["step"] + 1, "exp_avg": m}


def lion_step_decay_in_sign(theta, grad, state, *, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    b1, b2 = betas
    c = b1 * state["exp_avg"] + (1 - b1) * grad
    new_theta = theta - lr * np.sign(c + weight_decay * theta)
    m = b2 * state["exp_avg"] + (1 - b2) * grad
    return new_theta, {"step": state["step"] + 1, "exp_avg": m}


def lion_step_decay_no_lr(theta, grad, state, *, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    b1, b2 = betas
    c = b1 * state["exp_avg"] + (1 - b1) * grad
    new_theta = (1 - weight_decay) * theta - lr * np.sign(c)
    m = b2 * state["exp_avg"] + (1 - b2) * grad
    return new_theta, {"step": state["step"] + 1, "exp_avg": m}


def lion_step_where_sign(theta, grad, state, *, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    b1, b2 = betas
    c = b1 * state["exp_avg"] + (1 - b1) * grad
    direction = np.where(c > 0, 1.0, -1.0)  # +1 or -1
    new_theta = theta * (1 - lr * weight_decay) - lr * direction
    m = b2 * state["exp_avg"] + (1 - b2) * grad
    return new_theta, {"step": state["step"] + 1, "exp_avg": m}


def lion_init_array(theta):
    return np.zeros_like(theta)


def lion_step_bare_momentum(theta, grad, state, *, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    # the state is just the momentum array
    beta1, beta2 = betas
    update = np.sign(beta1 * state + (1 - beta1) * grad)
    new_theta = (1 - lr * weight_decay) * theta - lr * update
    return new_theta, beta2 * state + (1 - beta2) * grad


def lion_step_lerp(theta, grad, state, *, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    beta1, beta2 = betas
    m = state["exp_avg"]
    c = m + (1 - beta1) * (grad - m)  # lerp(m, g, 1 - beta1)
    new_theta = theta - lr * weight_decay * theta - lr * np.sign(c)
    new_m = m + (1 - beta2) * (grad - m)
    return new_theta, {"step": state["step"] + 1, "exp_avg": new_m}


# ---------------------------------------------------------------------------------------------------------
# the entries
# ---------------------------------------------------------------------------------------------------------


def _w(target, step, init, names, what):
    return Wrong(target, (step, init), frozenset(names), what)


def _c(target, step, init, what):
    return Correct(target, (step, init), what)


WRONG = [
    # optim.sgd
    _w("optim.sgd", sgd_step_decay_not_times_lr, sgd_init_plain, {"sgd_weight_decay_without_lr"},
       "decay term theta * weight_decay not multiplied by lr"),
    _w("optim.sgd", sgd_step_inplace, sgd_init_plain, {"modifies_input"},
       "theta -= lr * g and state['step'] += 1 modify the inputs"),
    _w("optim.sgd", sgd_step_ascent_loop, sgd_init_plain, {"sgd_ascent", "sign_flipped"},
       "loop that adds lr * g (gradient ascent)"),
    _w("optim.sgd", sgd_step_no_decay, sgd_init_plain, {"sgd_weight_decay_ignored", "ignored:weight_decay"},
       "weight_decay never used"),
    _w("optim.sgd", sgd_step_np_float_lr, sgd_init_plain, {"float64_out"},
       "np.float64(lr) turns a float32 theta into float64"),
    # optim.momentum
    _w("optim.momentum", momentum_step_ema, momentum_init_dict, {"momentum_moving_average"},
       "velocity as a moving average, (1 - momentum) * g"),
    _w("optim.momentum", momentum_step_always_damped, momentum_init_dict, {"momentum_dampening_on_first_step"},
       "buffer starts at 0, so the first gradient is dampened too"),
    _w("optim.momentum", momentum_step_no_dampening, momentum_init_dict,
       {"momentum_dampening_ignored", "ignored:dampening"}, "dampening never used"),
    _w("optim.momentum", momentum_step_decay_outside, momentum_init_dict, {"momentum_weight_decay_outside_buffer"},
       "weight decay added to the step, not to the gradient entering the buffer"),
    _w("optim.momentum", momentum_step_mutates_state, momentum_init_dict, {"modifies_input"},
       "updates state['v'] and state['step'] in place"),
    _w("optim.momentum", momentum_step_velocity_not_saved, momentum_init_dict, {"first_step_only", "same_as:optim.sgd"},
       "new state keeps the old velocity: the buffer never accumulates"),
    _w("optim.momentum", momentum_step_float64_state, momentum_init_float64, {"float64_out"},
       "init uses np.zeros(shape): float64 buffer, float64 theta"),
    # optim.nesterov
    _w("optim.nesterov", nesterov_step_heavy_ball, nesterov_init_dict,
       {"nesterov_plain_momentum", "same_as:optim.momentum"}, "steps along v: that is heavy-ball momentum"),
    _w("optim.nesterov", nesterov_step_lookahead_buffer, nesterov_init_dict, {"nesterov_lookahead_on_buffer"},
       "steps with (1 + momentum) * v instead of g + momentum * v"),
    _w("optim.nesterov", nesterov_step_old_velocity, nesterov_init_dict,
       {"nesterov_plain_momentum", "same_as:optim.momentum"},
       "look-ahead with the old v: g + mu * v_old is the new heavy-ball v"),
    _w("optim.nesterov", nesterov_step_no_decay, nesterov_init_dict,
       {"nesterov_weight_decay_ignored", "ignored:weight_decay"}, "weight_decay never used"),
    _w("optim.nesterov", nesterov_step_ema, nesterov_init_dict, {"nesterov_moving_average"},
       "buffer as a moving average (1 - momentum) * g"),
    # optim.adagrad
    _w("optim.adagrad", adagrad_step_ema, adagrad_init_dict,
       {"adagrad_moving_average_0.99", "adagrad_moving_average", "same_as:optim.rmsprop"},
       "moving average of g^2 with 0.99 (that is RMSProp)"),
    _w("optim.adagrad", adagrad_step_eps_in_root, adagrad_init_dict, {"adagrad_eps_inside_sqrt"},
       "eps inside the square root, lr / sqrt(G + eps)"),
    _w("optim.adagrad", adagrad_step_decay_from_t, adagrad_init_dict,
       {"adagrad_lr_decay_off_by_one", "off_by_one_step"}, "lr / (1 + t * lr_decay): the first step already decayed"),
    _w("optim.adagrad", adagrad_step_no_initial_value, adagrad_init_dict,
       {"adagrad_initial_accumulator_ignored", "ignored:initial_accumulator_value"},
       "initial_accumulator_value never used"),
    _w("optim.adagrad", adagrad_step_initial_every_step, adagrad_init_dict, {"first_step_only"},
       "adds initial_accumulator_value to the sum at every step, not once"),
    _w("optim.adagrad", adagrad_step_no_lr_decay, adagrad_init_dict, {"ignored:lr_decay"}, "lr_decay never used"),
    _w("optim.adagrad", adagrad_step_float64_sum, adagrad_init_float64, {"float64_out"},
       "init uses np.zeros(theta.shape): float64 sum, float64 theta"),
    _w("optim.adagrad", adagrad_step_grad_aliased, adagrad_init_dict, {"modifies_input"},
       "g = grad; g += weight_decay * theta changes the caller's grad"),
    # optim.rmsprop
    _w("optim.rmsprop", rmsprop_step_alpha_swapped, rmsprop_init_dict, {"rmsprop_alpha_swapped"},
       "alpha weights the new g^2 and 1 - alpha the old average"),
    _w("optim.rmsprop", rmsprop_step_no_root, rmsprop_init_dict, {"rmsprop_no_sqrt"},
       "divides by the mean square, no square root"),
    _w("optim.rmsprop", rmsprop_step_eps_in_root, rmsprop_init_dict, {"rmsprop_eps_inside_sqrt"},
       "eps inside the square root"),
    _w("optim.rmsprop", rmsprop_step_not_centered, rmsprop_init_dict,
       {"rmsprop_centered_ignored", "ignored:centered"}, "centered never used"),
    _w("optim.rmsprop", rmsprop_step_momentum_raw, rmsprop_init_dict, {"rmsprop_momentum_on_raw_gradient"},
       "momentum buffer on the raw gradient, scaled afterwards"),
    _w("optim.rmsprop", rmsprop_step_alpha_hardcoded, rmsprop_init_dict, {"ignored:alpha"},
       "decay hard-coded to 0.9 from the slides"),
    _w("optim.rmsprop", rmsprop_step_no_momentum, rmsprop_init_dict, {"ignored:momentum"}, "momentum never used"),
    _w("optim.rmsprop", rmsprop_step_inplace_avg, rmsprop_init_dict, {"modifies_input"},
       "dict(state) is a shallow copy: the averages are updated in place in the caller's arrays"),
    # optim.adadelta
    _w("optim.adadelta", adadelta_step_paper_no_lr, adadelta_init_dict, {"adadelta_no_lr", "ignored:lr"},
       "no learning rate (the paper's version)"),
    _w("optim.adadelta", adadelta_step_eps_outside, adadelta_init_dict, {"adadelta_eps_outside_sqrt"},
       "eps added outside both roots"),
    _w("optim.adadelta", adadelta_step_scaled_acc, adadelta_init_dict, {"adadelta_accumulates_scaled_step"},
       "accumulates the update after multiplying by lr"),
    _w("optim.adadelta", adadelta_step_rho_swapped, adadelta_init_dict, {"adadelta_rho_swapped"},
       "rho and 1 - rho swapped in both averages"),
    _w("optim.adadelta", adadelta_step_acc_not_kept, adadelta_init_dict, {"first_step_only"},
       "computes acc_delta but stores the old one: the numerator stays sqrt(eps)"),
    # optim.adam
    _w("optim.adam", adam_step_loop_no_bias, adam_init_dict, {"adam_no_bias_correction"},
       "loop over entries, no bias correction"),
    _w("optim.adam", adam_step_macau, adam_init_dict, {"adam_no_bias_correction", "adam_eps_inside_sqrt"},
       "no bias correction and eps inside the root (the Macau slide)"),
    _w("optim.adam", adam_step_t_from_zero, adam_init_dict, {"adam_step_count_from_zero", "off_by_one_step"},
       "uses t before incrementing it: t = 0 on the first step"),
    _w("optim.adam", adam_step_counter_forgotten, adam_init_dict,
       {"adam_step_count_never_incremented", "first_step_only"}, "the new state keeps the old step count"),
    _w("optim.adam", adam_step_betas_swapped, adam_init_dict, {"adam_betas_swapped"},
       "beta2, beta1 = betas"),
    _w("optim.adam", adam_step_decoupled_decay, adam_init_dict,
       {"adam_decoupled_weight_decay", "same_as:optim.adamw"}, "shrinks theta directly: that is AdamW"),
    _w("optim.adam", adam_step_eps_then_correct, adam_init_dict, {"adam_eps_before_bias_correction"},
       "eps added to sqrt(v), then the whole ratio corrected"),
    _w("optim.adam", adam_step_inplace_moments, adam_init_dict, {"modifies_input"},
       "m *= beta1 etc. on the state's own arrays"),
    _w("optim.adam", adam_step_np_power, adam_init_dict, {"float64_out"},
       "np.power(beta1, t) is a float64 scalar: float32 in, float64 out"),
    _w("optim.adam", adam_step_eps_fixed, adam_init_dict, {"ignored:eps"}, "eps hard-coded to 1e-8"),
    _w("optim.adam", adam_step_no_root, adam_init_dict, {"adam_no_sqrt"}, "divides by v_hat, not its root"),
    _w("optim.adam", adam_step_no_decay, adam_init_dict, {"ignored:weight_decay"}, "weight_decay never used"),
    # optim.adamw
    _w("optim.adamw", adamw_step_l2, adamw_init_dict, {"adamw_l2_penalty", "same_as:optim.adam"},
       "weight decay added to the gradient: that is Adam's L2 penalty"),
    _w("optim.adamw", adamw_step_decay_last, adamw_init_dict, {"adamw_decay_after_update"},
       "decay applied to the updated theta"),
    _w("optim.adamw", adamw_step_decay_no_lr, adamw_init_dict, {"adamw_decay_without_lr"},
       "theta * (1 - weight_decay), without lr"),
    _w("optim.adamw", adamw_step_uncorrected, adamw_init_dict, {"adamw_no_bias_correction"},
       "no bias correction"),
    _w("optim.adamw", adamw_step_eps_in_root, adamw_init_dict, {"adamw_eps_inside_sqrt"}, "eps inside the root"),
    _w("optim.adamw", adamw_step_decay_forgotten, adamw_init_dict, {"ignored:weight_decay"},
       "weight_decay never used (plain Adam)"),
    # optim.adamax
    _w("optim.adamax", adamax_step_uncorrected, adamax_init_dict, {"adamax_no_bias_correction"},
       "m not bias-corrected"),
    _w("optim.adamax", adamax_step_both_corrected, adamax_init_dict, {"adamax_u_bias_corrected"},
       "u divided by (1 - beta2**t) as in Adam"),
    _w("optim.adamax", adamax_step_eps_added_after, adamax_init_dict, {"adamax_eps_outside_max"},
       "eps added to u after the max"),
    _w("optim.adamax", adamax_step_max_not_decayed, adamax_init_dict, {"adamax_u_not_decayed"},
       "running max without beta2"),
    _w("optim.adamax", adamax_step_paper_no_eps, adamax_init_dict, {"ignored:eps"},
       "no eps at all (paper's Algorithm 2): 0/0 on a zero gradient"),
    # optim.nadam
    _w("optim.nadam", nadam_step_dozat_simple, nadam_init_dict, {"nadam_simplified"},
       "simplified NAdam with beta1 instead of the mu_t schedule"),
    _w("optim.nadam", nadam_step_constant_mu, nadam_init_dict,
       {"nadam_momentum_schedule_ignored", "ignored:momentum_decay"}, "mu_t = beta1 at every step"),
    _w("optim.nadam", nadam_step_eps_in_root, nadam_init_dict, {"nadam_eps_inside_sqrt"}, "eps inside the root"),
    _w("optim.nadam", nadam_step_always_l2, nadam_init_dict,
       {"nadam_decoupled_weight_decay_ignored", "ignored:decoupled_weight_decay"},
       "decoupled_weight_decay never used: always an L2 penalty"),
    _w("optim.nadam", nadam_step_product_as_power, nadam_init_dict, {"first_step_only"},
       "mu_product as mu_t**t instead of the running product"),
    # optim.lion
    _w("optim.lion", lion_step_sign_of_new_m, lion_init_dict, {"lion_sign_of_momentum"},
       "sign of the updated momentum (beta2), no interpolation"),
    _w("optim.lion", lion_step_betas_swapped, lion_init_dict, {"lion_betas_swapped"}, "beta2, beta1 = betas"),
    _w("optim.lion", lion_step_decay_in_sign, lion_init_dict,
       {"lion_weight_decay_in_sign", "lion_weight_decay_in_sign_only"}, "weight decay inside the sign"),
    _w("optim.lion", lion_step_decay_no_lr, lion_init_dict, {"lion_weight_decay_without_lr"},
       "(1 - weight_decay) * theta, without lr"),
    _w("optim.lion", lion_step_where_sign, lion_init_dict, {"float64_out"},
       "np.where(c > 0, 1.0, -1.0): float64 direction (and sign(0) = -1)"),
]

CORRECT = [
    _c("optim.sgd", sgd_step_flat_loop, sgd_init_tuple, "loop over entries on a copy, state is a 1-tuple"),
    _c("optim.sgd", sgd_step_shrink_form, sgd_init_plain, "(1 - lr * wd) * theta - lr * grad"),
    _c("optim.momentum", momentum_step_list_state, momentum_init_list, "torch-like code, state [step, buf or None]"),
    _c("optim.momentum", momentum_step_class_state, momentum_init_class, "state is a small class, in-place on a copy"),
    _c("optim.nesterov", nesterov_step_expanded, nesterov_init_tuple, "tuple state, step written in two terms"),
    _c("optim.adagrad", adagrad_step_lazy_accumulator, adagrad_init_lazy, "accumulator created on the first step"),
    _c("optim.adagrad", adagrad_step_elementwise, adagrad_init_dict, "loop with np.ndindex on copies"),
    _c("optim.rmsprop", rmsprop_step_tuple_state, rmsprop_init_tuple, "tuple state, torch-like branches"),
    _c("optim.rmsprop", rmsprop_step_lerp_form, rmsprop_init_lerp, "averages written as lerp, own key names"),
    _c("optim.adadelta", adadelta_step_ratio_root, adadelta_init_tuple, "one root of the ratio, tuple state"),
    _c("optim.adam", adam_step_folded_lr, adam_init_list, "bias corrections folded into the step size and eps"),
    _c("optim.adam", adam_step_copies_inplace, adam_init_dict, "in-place arithmetic on copies"),
    _c("optim.adamw", adamw_step_two_terms, adamw_init_tuple, "theta - lr * (adam term + wd * theta)"),
    _c("optim.adamax", adamax_step_loop, adamax_init_list, "loop over entries with Python max"),
    _c("optim.nadam", nadam_step_mu_history, nadam_init_list, "keeps the list of mu_t, product via math.prod"),
    _c("optim.lion", lion_step_bare_momentum, lion_init_array, "state is the momentum array itself"),
    _c("optim.lion", lion_step_lerp, lion_init_dict, "interpolations written as lerp"),
]
