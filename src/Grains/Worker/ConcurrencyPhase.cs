namespace OrleansLlm.Worker;

/// <summary>What the <see cref="AdaptiveConcurrencyController"/> is doing; its summary gives the transitions.</summary>
public enum ConcurrencyPhase
{
    /// <summary>Rounds of as many probes as the limit double it until a round finds the first knee.</summary>
    SlowStart,

    /// <summary>Above the knee (or with none known) after probes found room: each step is checked, then probed past.</summary>
    Probe,

    /// <summary>Past a throughput peak: one step below the knee at a time, while the step below serves as well.</summary>
    StepDown,

    /// <summary>At the knee, probing above it now and then; below it after errors, doubling back to it.</summary>
    Steady,
}
