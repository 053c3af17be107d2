namespace OrleansLlm.Client.Input;

/// <summary>Which rows of a source to submit.</summary>
/// <param name="MinPopulation">Keep rows whose <c>population</c> is at least this; rows without a usable population are left out.</param>
/// <param name="Limit">Keep at most this many rows (after the population filter).</param>
public sealed record ItemFilter(double? MinPopulation = null, int? Limit = null);
