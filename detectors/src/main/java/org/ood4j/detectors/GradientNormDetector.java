package org.ood4j.detectors;

import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import org.ood4j.models.Sequential;

/**
 * What GradNorm and GradNormKL share: the network, the parameter filter (state_dict names, or a
 * predicate that cannot be saved), no fitting, and saving the filter. They differ only in the
 * BCE target and the norm they take of the per-sample parameter gradients.
 */
public abstract class GradientNormDetector extends NetworkDetector {
    private final List<String> paramFilter;
    private final boolean customFilter;
    /** Selects the parameters whose gradients count. */
    protected final Predicate<String> filter;

    /** @param paramFilter state_dict names of the parameters to score, or null for all */
    protected GradientNormDetector(Sequential model, List<String> paramFilter) {
        super(model);
        this.paramFilter = GradientNorms.checkNames(name(), model, paramFilter);
        this.filter = GradientNorms.predicateOf(this.paramFilter);
        this.customFilter = false;
    }

    /** Parameters selected by a predicate on their state_dict names (such a detector cannot be saved). */
    protected GradientNormDetector(Sequential model, Predicate<String> paramFilter) {
        super(model);
        if (paramFilter == null) {
            throw new IllegalArgumentException(name() + ": param_filter predicate is null (use the list constructor for all)");
        }
        this.paramFilter = null;
        this.filter = paramFilter;
        this.customFilter = true;
    }

    @Override public boolean requiresFit() { return false; }

    @Override
    public Map<String, Object> params() {
        if (customFilter) {
            throw new UnsupportedOperationException("a " + name() + " with a custom param_filter predicate cannot be saved; give parameter names");
        }
        return paramFilter == null ? Map.of() : Map.of("param_filter", paramFilter);
    }
}
