using OllamaSim;

namespace OrleansLlm.Tests.Worker;

/// <summary>One request's work, costed like the simulator's model (<see cref="SimulatedModel"/>).</summary>
internal sealed record SyntheticItem(int PromptTokens, int OutputTokens)
{
    /// <summary>Makes the workshop's 12.5-second CPU request take about half a second alone.</summary>
    public const double TimeScale = 0.035;

    public double PromptSeconds => PromptTokens * SimulatedModel.PromptTokenSeconds * TimeScale;

    public double OutputSeconds => OutputTokens * SimulatedModel.OutputTokenSeconds * TimeScale;

    public double SoloSeconds => PromptSeconds + OutputSeconds;

    /// <summary>
    /// The i-th of a stream of city questions: prompts of 40–48 tokens; names of 4–7 tokens, or a single token for
    /// the one city in seven whose mayor the model does not know.
    /// </summary>
    public static SyntheticItem City(int i) => new(40 + (i * 7 % 9), i % 7 == 3 ? 1 : 4 + (i * 5 % 4));
}
