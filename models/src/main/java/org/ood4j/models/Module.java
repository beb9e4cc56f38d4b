package org.ood4j.models;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.ood4j.engine.DType;
import org.ood4j.engine.Device;
import org.ood4j.engine.Tensor;
import org.ood4j.engine.autodiff.Tape;
import org.ood4j.engine.autodiff.Var;

/**
 * A network part with named parameters, as torch.nn.Module.
 *
 * <ul>
 *   <li>{@link #forward(Tensor)} (also {@link #apply}) is inference: nothing is recorded, the
 *       result belongs to the caller, x is left open. The mode flags are honoured (a batch norm
 *       in training mode normalises with batch statistics; dropout is active in training mode or
 *       when {@link #dropoutAtInference(boolean) forced}).</li>
 *   <li>{@link #forward(Var)} runs on a {@link Tape} for gradients; layers take their weights with
 *       {@link Tape#leaf}, so watch the parameters (see {@link #watchParameters}) before it when
 *       their gradients are wanted.</li>
 *   <li>Names follow PyTorch's state_dict: a child's entries are prefixed with its name and a
 *       dot ({@code 0.weight}, {@code layer1.0.bn1.running_mean}); within a module parameters come
 *       first, then buffers, then children in registration order.</li>
 *   <li>Modules start in evaluation mode (PyTorch starts in training mode): this is an inference
 *       library, and training code says {@link #train()} explicitly.</li>
 *   <li>A module owns its parameter tensors; {@link #close()} frees them and its children's.</li>
 * </ul>
 */
public abstract class Module implements Function<Tensor, Tensor>, AutoCloseable {
    private final Map<String, Parameter> own = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training;
    private boolean closed;

    // ---------------------------------------------------------------- forward

    /** Inference forward pass; returns a new tensor owned by the caller (never x itself). */
    public abstract Tensor forward(Tensor x);

    /** Forward pass recorded on x's tape. */
    public abstract Var forward(Var x);

    /** {@link #forward(Tensor)}: a module is a model function for the detectors. */
    @Override
    public final Tensor apply(Tensor x) {
        return forward(x);
    }

    /**
     * Reports this layer's input and output to a per-sample gradient trace on the tape, when
     * one is attached and this layer can give per-sample gradients. Layers call it in
     * {@link #forward(Var)}; returns {@code out}.
     */
    protected final Var traced(Var in, Var out) {
        if (this instanceof PerSampleLayer) {
            ForwardTrace trace = in.tape().attachment(ForwardTrace.class);
            if (trace != null) trace.record(this, in, out);
        }
        return out;
    }

    /** A new handle on x's storage: what a layer returns when it leaves x unchanged. */
    protected static Tensor alias(Tensor x) {
        return x.reshape(x.shape());
    }

    // ---------------------------------------------------------------- registration

    /** Registers a trainable parameter; the module takes the tensor. */
    protected final Parameter parameter(String name, Tensor value) {
        return register(new Parameter(name, Parameter.Kind.PARAMETER, false, value));
    }

    /** Registers a buffer (saved and loaded, not trained); the module takes the tensor. */
    protected final Parameter buffer(String name, Tensor value, boolean optional) {
        return register(new Parameter(name, Parameter.Kind.BUFFER, optional, value));
    }

    private Parameter register(Parameter p) {
        checkName(p.name());
        own.put(p.name(), p);
        return p;
    }

    /** Registers a child module under a name (a state_dict prefix); returns it. */
    protected final <M extends Module> M child(String name, M module) {
        checkName(name);
        children.put(name, module);
        return module;
    }

    private void checkName(String name) {
        if (name.isEmpty() || name.contains(".")) throw new IllegalArgumentException("bad module or parameter name '" + name + "'");
        if (own.containsKey(name) || children.containsKey(name)) throw new IllegalArgumentException("name '" + name + "' registered twice");
    }

    // ---------------------------------------------------------------- introspection

    /** Direct children by name, in registration order. */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** This module's own parameters and buffers by local name. */
    public final Map<String, Parameter> localParameters() {
        return Collections.unmodifiableMap(own);
    }

    /** Every module by its dotted path ("" for this one), depth first, as named_modules(). */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        out.putIfAbsent(prefix, this);
        children.forEach((n, m) -> m.collectModules(prefix.isEmpty() ? n : prefix + "." + n, out));
    }

    /** Trainable parameters by state_dict name, as named_parameters(). */
    public final Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        stateDict().forEach((n, p) -> { if (p.isTrainable()) out.put(n, p); });
        return out;
    }

    /** Parameters and buffers by state_dict name, in PyTorch's order. */
    public final Map<String, Parameter> stateDict() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collectState("", out);
        return out;
    }

    private void collectState(String prefix, Map<String, Parameter> out) {
        for (Parameter.Kind kind : Parameter.Kind.values()) {
            own.values().stream().filter(p -> p.kind() == kind).forEach(p -> out.putIfAbsent(prefix + p.name(), p));
        }
        children.forEach((n, m) -> m.collectState(prefix + n + ".", out));
    }

    /** Trainable parameters in state_dict order. */
    public final List<Parameter> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Watches every trainable parameter on the tape (before a forward pass); Vars by state_dict name. */
    public final Map<String, Var> watchParameters(Tape tape) {
        Map<String, Var> out = new LinkedHashMap<>();
        namedParameters().forEach((n, p) -> out.put(n, tape.watch(p.value())));
        return out;
    }

    // ---------------------------------------------------------------- modes

    /** Training mode for this module and every descendant; returns this. */
    public Module train() {
        return train(true);
    }

    /** Evaluation mode for this module and every descendant; returns this. */
    public Module eval() {
        return train(false);
    }

    public Module train(boolean on) {
        namedModules().values().forEach(m -> m.training = on);
        return this;
    }

    public final boolean isTraining() {
        return training;
    }

    /** Keeps every dropout layer active (or not) outside training mode: Monte-Carlo dropout. Returns this. */
    public Module dropoutAtInference(boolean on) {
        namedModules().values().forEach(m -> { if (m instanceof Dropout d) d.setActiveAtInference(on); });
        return this;
    }

    /** Converts every floating parameter and buffer to a dtype (float64 for gradient checks); returns this. */
    public Module to(DType dtype) {
        if (!dtype.isFloating()) throw new IllegalArgumentException("parameters must stay floating, got " + dtype);
        stateDict().values().forEach(p -> p.convert(dtype));
        return this;
    }

    /**
     * Moves every parameter and buffer to a device; returns this. Inputs must then be on that
     * device too. Optimisers hold the tensors they saw: create them after moving.
     */
    public Module to(Device device) {
        stateDict().values().forEach(p -> p.moveTo(device));
        return this;
    }

    // ---------------------------------------------------------------- lifetime

    /** Frees every parameter and buffer of this module and its descendants; closing twice is harmless. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        own.values().forEach(Parameter::close);
        children.values().forEach(Module::close);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName();
    }
}
