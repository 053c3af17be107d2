namespace OrleansLlm;

/// <summary>What <see cref="IBatchGrain.RetryAsync"/> did.</summary>
/// <param name="Retried">Dead-lettered items put back in the queue with fresh attempts.</param>
/// <param name="TooLarge">Dead letters whose item was cut short (past <c>Queue:DeadLetterMaxPayloadBytes</c>): they stay dead-lettered.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.BatchRetry")]
public sealed record BatchRetry([property: Id(0)] long Retried, [property: Id(1)] long TooLarge);
