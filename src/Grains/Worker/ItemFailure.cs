namespace OrleansLlm.Worker;

/// <summary>Why an item failed: a bounded class for metrics and traces, and the words for logs and the dead-letter list.</summary>
/// <param name="Reason">One of <see cref="Telemetry.FailureReasons"/>.</param>
/// <param name="Error">What went wrong, for people.</param>
public readonly record struct ItemFailure(string Reason, string Error);
