namespace OrleansLlm.OpenAiCompatible;

/// <summary>
/// Where the readings of the server's queue stood when a request started (<see cref="ServerQueueReader.Mark"/>), so
/// that at its end <see cref="ServerQueueReader.WaitShareSince"/> averages just the readings taken during its life.
/// </summary>
public readonly record struct GaugeMark(long Readings, double ShareSum);
