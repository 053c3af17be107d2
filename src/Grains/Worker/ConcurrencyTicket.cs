namespace OrleansLlm.Worker;

/// <summary>What the concurrency controller needs back when a request it let out ends.</summary>
/// <param name="Epoch">Which limit the request was sent under; any change of limit starts a new epoch.</param>
/// <param name="Probe">A request sent beyond the limit to see whether Ollama has a free slot.</param>
/// <param name="Round">The probe round the request was sent in, or 0.</param>
public readonly record struct ConcurrencyTicket(long Epoch, bool Probe, long Round = 0);
