namespace OrleansLlm.Worker;

/// <summary>One call to Ollama in flight, as <see cref="CallSlots"/> counts it.</summary>
/// <param name="LeaseId">The lease of the item the call is for.</param>
/// <param name="Ticket">What the concurrency controller needs back when the call ends.</param>
/// <param name="SentAt">When the call went out: a backend that answered anything since then is not broken.</param>
public sealed record OllamaCall(string LeaseId, ConcurrencyTicket Ticket, DateTimeOffset SentAt);
