// ImageGateApp
